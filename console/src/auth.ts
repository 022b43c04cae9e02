// Sign-in through the configured OIDC issuer: authorization code with PKCE, handled by oidc-client-ts.
// The user (ID token included) is kept in sessionStorage only; the PKCE state too. Nothing goes to
// localStorage or cookies.
import { Log, UserManager, WebStorageStateStore, type User } from "oidc-client-ts";
import type { ConsoleConfig } from "./config";

Log.setLevel(Log.NONE);

export class Auth {
  private readonly mgr: UserManager;

  constructor(cfg: ConsoleConfig) {
    this.mgr = new UserManager({
      authority: cfg.issuer,
      client_id: cfg.clientId,
      redirect_uri: cfg.redirectUri,
      post_logout_redirect_uri: cfg.postLogoutRedirectUri,
      response_type: "code",
      scope: "openid email",
      userStore: new WebStorageStateStore({ store: window.sessionStorage }),
      stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
      automaticSilentRenew: false,
      monitorSession: false,
      loadUserInfo: false,
    });
  }

  /** isCallback tells whether the current URL is the issuer's answer to a sign-in. */
  static isCallback(loc: Location): boolean {
    const q = new URLSearchParams(loc.search);
    return q.has("state") && (q.has("code") || q.has("error"));
  }

  /**
   * completeSignIn finishes a sign-in from the callback URL and returns the route the person started from.
   * It removes code and state from the address bar whatever happens.
   */
  async completeSignIn(): Promise<string> {
    const url = window.location.href;
    history.replaceState(null, "", window.location.pathname);
    const user = await this.mgr.signinCallback(url);
    const returnTo = (user?.state as { returnTo?: unknown } | undefined)?.returnTo;
    return typeof returnTo === "string" && returnTo.startsWith("#/") ? returnTo : "#/";
  }

  /** signIn sends the browser to the issuer; returnTo is a hash route to come back to. */
  async signIn(returnTo: string): Promise<void> {
    await this.mgr.signinRedirect({ state: { returnTo } });
  }

  /**
   * signOut revokes the refresh token where the issuer's metadata names a revocation_endpoint (Cognito's
   * /oauth2/revoke), so that a copy of it renews nothing; forgets the user; and ends the issuer's session.
   */
  async signOut(): Promise<void> {
    const user = await this.mgr.getUser();
    const revocation = user?.refresh_token ? await this.mgr.metadataService.getRevocationEndpoint().catch(() => undefined) : undefined;
    if (revocation) {
      await this.mgr.revokeTokens(["refresh_token"]).catch(() => {
        // The issuer could not be reached: signing out here still forgets the token.
      });
    }
    await this.mgr.removeUser();
    await this.mgr.signoutRedirect(user?.id_token ? { id_token_hint: user.id_token } : undefined).catch(() => {
      // An issuer without an end-session endpoint: the local sign-out above is all there is.
      window.location.hash = "#/";
      window.location.reload();
    });
  }

  /** idToken returns a current ID token, renewing it with a refresh token if one is held, or null. */
  async idToken(): Promise<string | null> {
    let user: User | null = await this.mgr.getUser();
    if (user && (user.expired || !user.id_token) && user.refresh_token) {
      user = await this.mgr.signinSilent().catch(() => null);
    }
    if (!user || user.expired || !user.id_token) return null;
    return user.id_token;
  }

  /** renew tries once to replace a refused ID token; it returns the new one or null. */
  async renew(): Promise<string | null> {
    const user = await this.mgr.getUser();
    if (user?.refresh_token) {
      const fresh = await this.mgr.signinSilent().catch(() => null);
      if (fresh?.id_token) return fresh.id_token;
    }
    await this.mgr.removeUser();
    return null;
  }

  async signedIn(): Promise<boolean> {
    return (await this.idToken()) !== null;
  }
}
