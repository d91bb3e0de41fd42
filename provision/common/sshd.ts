import type { RenderedStep } from "./types";

/** Key-only SSH with no root login; TCP forwarding stays on because remote commands jump through the bastion. */
export function renderSshdHardening(): RenderedStep {
  return {
    name: "harden-sshd",
    description: "sshd: keys only, no root login, no agent/X11 forwarding",
    files: [
      {
        path: "/etc/ssh/sshd_config.d/10-opsfleet.conf",
        mode: "0644",
        content: [
          "# rendered by opsfleet",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "PermitRootLogin no",
          "PubkeyAuthentication yes",
          "AllowTcpForwarding yes",
          "AllowAgentForwarding no",
          "X11Forwarding no",
          "MaxAuthTries 3",
          "ClientAliveInterval 60",
          "",
        ].join("\n"),
      },
    ],
    script: [
      "sshd -t",
      'case " $OPSFLEET_CHANGED " in',
      '  *" /etc/ssh/sshd_config.d/10-opsfleet.conf "*)',
      "    if [ -d /run/systemd/system ]; then systemctl reload ssh; else kill -HUP \"$(cat /run/sshd.pid)\"; fi ;;",
      "esac",
    ].join("\n"),
  };
}
