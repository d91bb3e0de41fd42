import { cidrSubnet, cidrsOverlap, parseCidr, subnetLayout } from "./cidr";

describe("cidr helpers", () => {
  test.each([
    ["10.0.0.0/16", true],
    ["192.168.1.0/24", true],
    ["10.0.0.1/16", false], // host bits set
    ["10.0.0.0/33", false],
    ["256.0.0.0/8", false],
    ["10.0.0.0", false],
    ["ten/8", false],
  ])("parseCidr(%s) valid=%s", (c, ok) => expect(parseCidr(c) !== undefined).toBe(ok));

  test("cidrSubnet carves like Terraform's cidrsubnet", () => {
    expect(cidrSubnet("10.0.0.0/16", 4, 0)).toBe("10.0.0.0/20");
    expect(cidrSubnet("10.0.0.0/16", 4, 1)).toBe("10.0.16.0/20");
    expect(cidrSubnet("10.0.0.0/16", 4, 15)).toBe("10.0.240.0/20");
    expect(() => cidrSubnet("10.0.0.0/16", 4, 16)).toThrow(/out of range/);
    expect(() => cidrSubnet("10.0.0.0/26", 4, 0)).toThrow(/\/30/);
  });

  test("layout: distinct, non-overlapping public and private subnets inside the VPC", () => {
    const l = subnetLayout("10.1.0.0/16", 3);
    expect(l.public).toEqual(["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/20"]);
    expect(l.private).toEqual(["10.1.128.0/20", "10.1.144.0/20", "10.1.160.0/20"]);
    const all = [...l.public, ...l.private];
    for (let i = 0; i < all.length; i++) {
      expect(cidrsOverlap(all[i], "10.1.0.0/16")).toBe(true);
      for (let j = i + 1; j < all.length; j++) expect(cidrsOverlap(all[i], all[j])).toBe(false);
    }
  });
});
