import type { ZodType } from "zod";

/** Config fixtures shared by the config tests: a valid public key and acceptable secret values. */
export const PUBKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk3f2xVbq9wYr4kD8qQ0n5Jm1sTz8fYk2gQp6vN3a1b ops@example";
export const SECRETS: Record<string, string> = {
  sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n",
  redisPassword: "r3dis-Pa55word-long-enough",
  elasticPassword: "3lastic-Pa55word-long-enough",
  dbRootPassword: "r00t-Pa55word-long-enough",
  dbAppPassword: "app-Pa55word-long-enough",
};

/** The issues (path + message) a schema reports for `x`; throws when `x` is accepted. */
export function rejectionIssues(schema: ZodType, x: unknown): { path: string; message: string }[] {
  const r = schema.safeParse(x);
  if (r.success) throw new Error(`expected ${JSON.stringify(x)} to be rejected`);
  return r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}
