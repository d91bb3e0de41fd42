import type { RenderedStep } from "./types";

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/;

/**
 * The login user's `authorized_keys`, managed: exactly `keys` (the key remote commands log in with
 * first). This is how a key is rotated on running hosts without replacing them (see README
 * "Rotating the SSH key"); the EC2 key pair only seeds the first key of a new instance.
 */
export function renderAuthorizedKeysStep(user: string, keys: string[]): RenderedStep {
  if (!USER.test(user)) throw new Error(`authorized keys: user ${JSON.stringify(user)} is not a Linux user name`);
  if (keys.length === 0) throw new Error("authorized keys: at least one key (the one remote commands log in with)");
  const lines = keys.map((k) => k.trim());
  lines.forEach((k, i) => {
    if (!PUBLIC_KEY.test(k)) throw new Error(`authorized keys: entry ${i + 1} is not an OpenSSH public key line (got ${JSON.stringify(k.slice(0, 24))}...)`);
  });
  const content = [...new Set(lines)].join("\n") + "\n";
  const b64 = Buffer.from(content, "utf8").toString("base64");
  return {
    name: "ssh-authorized-keys",
    description: `authorized_keys of ${user}: ${lines.length} key(s), the login key first`,
    files: [],
    script: [
      `home=$(getent passwd '${user}' | cut -d: -f6)`,
      `[ -n "$home" ] || { echo "user ${user} does not exist" >&2; exit 1; }`,
      `install -d -m 0700 -o '${user}' -g "$(id -gn '${user}')" "$home/.ssh"`,
      `tmp=$(mktemp "$home/.ssh/.authorized_keys.XXXXXX")`,
      `echo '${b64}' | base64 -d > "$tmp"`,
      `chown '${user}:'"$(id -gn '${user}')" "$tmp" && chmod 0600 "$tmp"`,
      `if cmp -s "$tmp" "$home/.ssh/authorized_keys"; then rm -f "$tmp"; echo "authorized_keys unchanged"; else mv -f "$tmp" "$home/.ssh/authorized_keys"; echo "authorized_keys updated (${lines.length} key(s))"; fi`,
    ].join("\n"),
  };
}
