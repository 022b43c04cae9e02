// A typed client for the tokensmith API, called with the person's ID token (API.md sections 5, 6 and 10).

import type { components, operations } from "./generated/openapi";

// The types of what the API takes and answers are docs/openapi.yaml's, generated into generated/openapi.ts.
type Schemas = components["schemas"];
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type Success<R> = R extends { 200: infer A } ? A : R extends { 201: infer A } ? A : never;
/** Answer is what an operation answers on success. */
type Answer<Op extends keyof operations> = Json<Success<operations[Op]["responses"]>>;
/** Body is what an operation takes. */
type Body<Op extends keyof operations> = Json<NonNullable<operations[Op]["requestBody"]>>;

export type Level = Schemas["Level"];
/** Permissions are a level per API, as the generate form holds them ("none" included). */
export type Permissions = Record<string, Level>;
export type Person = Schemas["PersonRef"];
export type ApiToken = Schemas["ApiToken"];
export type NewToken = Schemas["Minted"];
export type Me = Answer<"getMe">;
export type MeWorkspace = Me["workspaces"][number];
export type MeSite = Me["sites"][number];
export type Invitation = Schemas["Invitation"];
export type Role = Schemas["Role"];
export type Member = Schemas["Member"];
export type AuditEvent = Schemas["AuditEvent"];
export type WorkspaceSettings = Schemas["WorkspaceSettings"];
export type FieldError = Schemas["Error"]["details"][number];
/** TokenRequest is a create body of either kind, as the generate form makes it from its owner's APIs. */
export type TokenRequest = Omit<Body<"createSiteToken">, "permissions"> & { permissions: Permissions };

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
  acceptInvitation(id: string): Promise<Answer<"acceptInvitation">> { return this.request("POST", `/v2/me/invitations/${seg(id)}/accept`); }
  declineInvitation(id: string): Promise<void> { return this.request("POST", `/v2/me/invitations/${seg(id)}/decline`); }

  // Site tokens.
  siteTokens(siteId: string): Promise<Answer<"listSiteTokens">> { return this.request("GET", `/v2/sites/${seg(siteId)}/tokens`); }
  createSiteToken(siteId: string, body: Body<"createSiteToken">, idempotencyKey: string): Promise<Answer<"createSiteToken">> {
    return this.request("POST", `/v2/sites/${seg(siteId)}/tokens`, body, { "Idempotency-Key": idempotencyKey });
  }
  regenerateSiteToken(siteId: string, tokenId: string, gracePeriodSeconds: number, expiresInDays?: number): Promise<Answer<"regenerateSiteToken">> {
    const body: Body<"regenerateSiteToken"> = { gracePeriodSeconds };
    if (expiresInDays !== undefined) body.expiresInDays = expiresInDays;
    return this.request("POST", `/v2/sites/${seg(siteId)}/tokens/${seg(tokenId)}/regenerate`, body);
  }
  revokeSiteToken(siteId: string, tokenId: string): Promise<void> { return this.request("DELETE", `/v2/sites/${seg(siteId)}/tokens/${seg(tokenId)}`); }

  // Workspace tokens.
  workspaceTokens(wsId: string): Promise<Answer<"listWorkspaceTokens">> { return this.request("GET", `/v2/workspaces/${seg(wsId)}/tokens`); }
  createWorkspaceToken(wsId: string, body: Body<"createWorkspaceToken">, idempotencyKey: string): Promise<Answer<"createWorkspaceToken">> {
    return this.request("POST", `/v2/workspaces/${seg(wsId)}/tokens`, body, { "Idempotency-Key": idempotencyKey });
  }
  revokeWorkspaceToken(wsId: string, tokenId: string): Promise<void> { return this.request("DELETE", `/v2/workspaces/${seg(wsId)}/tokens/${seg(tokenId)}`); }

  // Workspace settings.
  workspaceSettings(wsId: string): Promise<WorkspaceSettings> { return this.request("GET", `/v2/workspaces/${seg(wsId)}/settings`); }
  updateWorkspaceSettings(wsId: string, maxTokenLifetimeDays: number | null): Promise<WorkspaceSettings> {
    return this.request("PATCH", `/v2/workspaces/${seg(wsId)}/settings`, { maxTokenLifetimeDays } satisfies Body<"updateWorkspaceSettings">);
  }

  // Members.
  workspaceMembers(wsId: string): Promise<Answer<"listWorkspaceMembers">> { return this.request("GET", `/v2/workspaces/${seg(wsId)}/members`); }
  addWorkspaceMember(wsId: string, email: string, role: Role): Promise<Answer<"addWorkspaceMember">> {
    return this.request("POST", `/v2/workspaces/${seg(wsId)}/members`, { email, role } satisfies Body<"addWorkspaceMember">);
  }
  setWorkspaceMemberRole(wsId: string, memberId: string, role: Role): Promise<Answer<"updateWorkspaceMember">> {
    return this.request("PATCH", `/v2/workspaces/${seg(wsId)}/members/${seg(memberId)}`, { role } satisfies Body<"updateWorkspaceMember">);
  }
  removeWorkspaceMember(wsId: string, memberId: string): Promise<void> { return this.request("DELETE", `/v2/workspaces/${seg(wsId)}/members/${seg(memberId)}`); }
  siteMembers(siteId: string): Promise<Answer<"listSiteMembers">> { return this.request("GET", `/v2/sites/${seg(siteId)}/members`); }
  addSiteMember(siteId: string, email: string): Promise<Answer<"addSiteMember">> {
    return this.request("POST", `/v2/sites/${seg(siteId)}/members`, { email } satisfies Body<"addSiteMember">);
  }
  removeSiteMember(siteId: string, memberId: string): Promise<void> { return this.request("DELETE", `/v2/sites/${seg(siteId)}/members/${seg(memberId)}`); }

  // Audit log (called with the person's user token; see README).
  auditLogs(wsId: string, q: AuditQuery): Promise<Answer<"listAuditLogs">> {
    const p = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset), sortOrder: "desc" });
    if (q.eventType) p.set("eventType", q.eventType);
    if (q.from) p.set("from", q.from);
    if (q.to) p.set("to", q.to);
    return this.request("GET", `/v2/workspaces/${seg(wsId)}/audit_logs?${p}`);
  }
}

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
