import { createHmac } from "node:crypto";

/**
 * A service password derived from the elastic password: HMAC-SHA256 keyed with it, over a label.
 * Each service user (logstash_internal, kibana_system) gets its own credential without another
 * stack secret to manage; knowing a derived password reveals nothing about the elastic password
 * or the other derived ones, and rotating the elastic password rotates them all.
 */
export function derivePassword(elasticPassword: string, label: string): string {
  if (elasticPassword.length < 16) throw new Error("the elastic password must have at least 16 characters to derive service passwords from");
  return createHmac("sha256", elasticPassword).update(`opsfleet:${label}`).digest("base64url");
}
