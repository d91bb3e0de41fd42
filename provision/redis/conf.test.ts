import { redisPaths, redisQuote, renderRedisConf, type RedisNodeConfig } from "./conf";

const base: RedisNodeConfig = { port: 7000, bindIp: "10.0.1.21", password: "s3cret-password-0123", maxmemoryMb: 512 };
const directives = (conf: string) =>
  Object.fromEntries(conf.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]));

describe("renderRedisConf", () => {
  test("a cluster node bound to the private IP, password-protected, persistent, with an explicit memory limit", () => {
    expect(directives(renderRedisConf(base))).toMatchObject({
      port: "7000",
      bind: "10.0.1.21 127.0.0.1",
      "protected-mode": "yes",
      requirepass: '"s3cret-password-0123"',
      masterauth: '"s3cret-password-0123"',
      dir: "/var/lib/redis/7000",
      appendonly: "yes",
      appendfsync: "everysec",
      "cluster-enabled": "yes",
      "cluster-config-file": "nodes-7000.conf",
      "cluster-node-timeout": "5000",
      "cluster-announce-ip": "10.0.1.21",
      pidfile: "/run/redis-7000/redis-server.pid",
      logfile: "/var/log/redis/redis-server-7000.log",
      maxmemory: "512mb",
      "maxmemory-policy": "noeviction",
      daemonize: "no",
    });
  });

  test("per-port paths follow Debian's redis-server@.service template (instance = port)", () => {
    expect(redisPaths(7001)).toEqual({
      conf: "/etc/redis/redis-7001.conf",
      dir: "/var/lib/redis/7001",
      runDir: "/run/redis-7001",
      pidfile: "/run/redis-7001/redis-server.pid",
      logfile: "/var/log/redis/redis-server-7001.log",
      nodesFile: "nodes-7001.conf",
    });
    const conf = directives(renderRedisConf({ ...base, port: 7001, nodeTimeoutMs: 3000, maxmemoryPolicy: "allkeys-lru" }));
    expect(conf).toMatchObject({ port: "7001", "cluster-node-timeout": "3000", "maxmemory-policy": "allkeys-lru", pidfile: "/run/redis-7001/redis-server.pid" });
  });

  test("quotes and backslashes in the password are escaped the way Redis' config parser expects", () => {
    expect(redisQuote(`a"b\\c d`)).toBe(`"a\\"b\\\\c d"`);
    const conf = renderRedisConf({ ...base, password: `pa"ss\\word with space` });
    expect(conf).toContain(`requirepass "pa\\"ss\\\\word with space"\n`);
  });

  test.each([
    [{ port: 80 }, /redis port: got 80; allowed: integer 1024-55535/],
    [{ port: 60000 }, /redis port: got 60000/],
    [{ bindIp: "10.0.1" }, /redis bindIp: got "10.0.1"; allowed: an IPv4 address/],
    [{ maxmemoryMb: 0 }, /redis maxmemoryMb: got 0; allowed: integer >= 32/],
    [{ maxmemoryPolicy: "lru" as never }, /redis maxmemoryPolicy: got "lru"; allowed: noeviction, allkeys-lru/],
    [{ nodeTimeoutMs: 100 }, /redis nodeTimeoutMs: got 100; allowed: integer 1000-60000/],
    [{ password: "short" }, /redis password: got 5 characters; allowed: 16-512 printable ASCII characters/],
    [{ password: "line\nbreak-0123456789" }, /redis password: got 21 characters/],
  ])("rejects %p with a message naming the field and what is allowed", (override, message) => {
    expect(() => renderRedisConf({ ...base, ...override })).toThrow(message);
  });

  test("a rejected password is never echoed", () => {
    expect(() => renderRedisConf({ ...base, password: "tiny-secret" })).toThrow(expect.objectContaining({ message: expect.not.stringContaining("tiny-secret") }));
  });
});
