// A typed client for the tokensmith API, called with the person's ID token (API.md sections 5, 6 and 10).

export type Level = "none" | "read" | "read_write";
export type Permissions = Record<string, Level>;

export interface Person { id: string; email: string }

export interface ApiToken {
  id: string;
  kind: "site" | "workspace";
  name: string;
  displayHint: string;
  siteId?: string;
  workspaceId: string;
  permissions: Permissions;
  scope: string;
  createdOn: string;
  createdBy: Person | null;
  lastUsed: string | null;
  useCount?: number;
  expiresOn: string;
  allowedIps?: string[];
  scopeLastUsed?: Record<string, string | null>;
}

export interface NewToken { token: string; apiToken: ApiToken }

export interface MeWorkspace { id: string; slug: string; displayName: string; plan: string; role: "admin" | "member" }
export interface MeSite { id: string; workspaceId: string; displayName: string; shortName: string; canManageTokens: boolean }
export interface Me { user: Person; workspaces: MeWorkspace[]; sites: MeSite[] }

export interface Member {
  id: string;
  email: string;
  userId: string | null;
  role: "admin" | "member";
  addedOn: string;
  addedBy: Person | null;
}

export interface AuditEvent {
  eventType: string;
  eventSubType: string;
  timestamp: string;
  actor: { type: string; id?: string; email?: string };
  workspace: { id: string; slug: string };
  payload: Record<string, unknown>;
}

export interface AuditPage { items: AuditEvent[]; pagination: { limit: number; offset: number; total: number } }

export interface FieldError { field: string; message: string }

/** ApiError is an error answer of the API, or a failure to reach it (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldError[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** SessionEnded is thrown when the API refuses the person's token and it cannot be renewed. */
export class SessionEnded extends Error {
  constructor() {
    super("Your session has ended. Sign in again.");
    this.name = "SessionEnded";
  }
}

export interface TokenSource {
  idToken(): Promise<string | null>;
  renew(): Promise<string | null>;
}

const seg = encodeURIComponent;

export class Api {
  /** onSessionEnded is called when the person's token is refused and cannot be renewed. */
  constructor(private readonly base: string, private readonly tokens: TokenSource, private readonly onSessionEnded: () => void = () => {}) {}

  private ended(): SessionEnded {
    this.onSessionEnded();
    return new SessionEnded();
  }

  private async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let token = await this.tokens.idToken();
    if (!token) throw this.ended();
    for (let attempt = 0; ; attempt++) {
      const h: Record<string, string> = { Accept: "application/json", Authorization: `Bearer ${token}`, ...headers };
      if (body !== undefined) h["Content-Type"] = "application/json";
      let res: Response;
      try {
        res = await fetch(this.base + path, {
          method,
          headers: h,
          body: body === undefined ? null : JSON.stringify(body),
          cache: "no-store",
          credentials: "omit",
          referrerPolicy: "no-referrer",
        });
      } catch {
        throw new ApiError(0, "network_error", "The service could not be reached. Check your connection and try again.");
      }
      if (res.status === 401 && attempt === 0) {
        token = await this.tokens.renew();
        if (!token) throw this.ended();
        continue;
      }
      if (res.status === 401) throw this.ended();
      if (res.status === 204) return undefined as T;
      const data: unknown = await res.json().catch(() => null);
      if (!res.ok) throw toApiError(res, data);
      return data as T;
    }
  }

  me(): Promise<Me> { return this.request("GET", "/v2/me"); }

  // Site tokens.
  siteTokens(siteId: string): Promise<{ apiTokens: ApiToken[] }> { return this.request("GET", `/v2/sites/${seg(siteId)}/tokens`); }
  createSiteToken(siteId: string, body: TokenRequest, idempotencyKey: string): Promise<NewToken> {
    return this.request("POST", `/v2/sites/${seg(siteId)}/tokens`, body, { "Idempotency-Key": idempotencyKey });
  }
  regenerateSiteToken(siteId: string, tokenId: string, gracePeriodSeconds: number): Promise<NewToken> {
    return this.request("POST", `/v2/sites/${seg(siteId)}/tokens/${seg(tokenId)}/regenerate`, { gracePeriodSeconds });
  }
  revokeSiteToken(siteId: string, tokenId: string): Promise<void> { return this.request("DELETE", `/v2/sites/${seg(siteId)}/tokens/${seg(tokenId)}`); }

  // Workspace tokens.
  workspaceTokens(wsId: string): Promise<{ apiTokens: ApiToken[] }> { return this.request("GET", `/v2/workspaces/${seg(wsId)}/tokens`); }
  createWorkspaceToken(wsId: string, body: TokenRequest, idempotencyKey: string): Promise<NewToken> {
    return this.request("POST", `/v2/workspaces/${seg(wsId)}/tokens`, body, { "Idempotency-Key": idempotencyKey });
  }
  revokeWorkspaceToken(wsId: string, tokenId: string): Promise<void> { return this.request("DELETE", `/v2/workspaces/${seg(wsId)}/tokens/${seg(tokenId)}`); }

  // Members.
  workspaceMembers(wsId: string): Promise<{ members: Member[] }> { return this.request("GET", `/v2/workspaces/${seg(wsId)}/members`); }
  addWorkspaceMember(wsId: string, email: string, role: "admin" | "member"): Promise<Member> {
    return this.request("POST", `/v2/workspaces/${seg(wsId)}/members`, { email, role });
  }
  setWorkspaceMemberRole(wsId: string, memberId: string, role: "admin" | "member"): Promise<Member> {
    return this.request("PATCH", `/v2/workspaces/${seg(wsId)}/members/${seg(memberId)}`, { role });
  }
  removeWorkspaceMember(wsId: string, memberId: string): Promise<void> { return this.request("DELETE", `/v2/workspaces/${seg(wsId)}/members/${seg(memberId)}`); }
  siteMembers(siteId: string): Promise<{ members: Member[] }> { return this.request("GET", `/v2/sites/${seg(siteId)}/members`); }
  addSiteMember(siteId: string, email: string): Promise<Member> { return this.request("POST", `/v2/sites/${seg(siteId)}/members`, { email }); }
  removeSiteMember(siteId: string, memberId: string): Promise<void> { return this.request("DELETE", `/v2/sites/${seg(siteId)}/members/${seg(memberId)}`); }

  // Audit log (called with the person's user token; see README).
  auditLogs(wsId: string, q: AuditQuery): Promise<AuditPage> {
    const p = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset), sortOrder: "desc" });
    if (q.eventType) p.set("eventType", q.eventType);
    if (q.from) p.set("from", q.from);
    if (q.to) p.set("to", q.to);
    return this.request("GET", `/v2/workspaces/${seg(wsId)}/audit_logs?${p}`);
  }
}

export interface TokenRequest { name: string; permissions: Permissions; allowedIps?: string[] }
export interface AuditQuery { limit: number; offset: number; eventType?: string; from?: string; to?: string }

export function toApiError(res: Response, data: unknown): ApiError {
  const d = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  const code = typeof d.code === "string" ? d.code : `http_${res.status}`;
  const message = typeof d.message === "string" && d.message ? d.message : `The request failed (HTTP ${res.status}).`;
  const details = Array.isArray(d.details)
    ? d.details.filter((x): x is FieldError => typeof x?.field === "string" && typeof x?.message === "string")
    : [];
  let msg = message;
  if (res.status === 429) {
    const after = res.headers.get("Retry-After");
    msg = after ? `Too many requests. Try again in ${after} seconds.` : "Too many requests. Try again shortly.";
  }
  return new ApiError(res.status, code, msg, details);
}
