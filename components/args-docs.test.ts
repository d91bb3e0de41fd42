/**
 * README promises TSDoc `@default` on every optional arg of the exported components: read the library's
 * public API with the TypeScript compiler (index.ts -> each exported class -> its constructor's args type,
 * and the project's own object types nested in it) and require the tag on every optional property.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..");

/** "<Component>Args.<path>" of every optional property without a @default tag. */
function optionalArgsWithoutDefault(entry: string): { checked: string[]; missing: string[] } {
  // Only our sources (noResolve): the args' own declarations are what matters, and leaving out
  // @pulumi/aws's typings keeps this a unit test of seconds.
  const sources = ["components", "provision"].flatMap((d) => (fs.readdirSync(path.join(ROOT, d), { recursive: true }) as string[]).map((f) => path.join(ROOT, d, f)))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
  const program = ts.createProgram([entry, ...sources], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noResolve: true, noLib: true, types: [], noEmit: true });
  const checker = program.getTypeChecker();
  const ours = (d: ts.Declaration) => !d.getSourceFile().fileName.includes("/node_modules/");
  const checked: string[] = [];
  const missing: string[] = [];
  const seen = new Set<ts.Symbol>();
  const visit = (type: ts.Type, where: string) => {
    for (const prop of type.getProperties()) {
      const decl = prop.valueDeclaration ?? prop.declarations?.[0];
      if (!decl || !ours(decl) || seen.has(prop)) continue;
      seen.add(prop);
      const key = `${where}.${prop.name}`;
      if (prop.flags & ts.SymbolFlags.Optional) {
        checked.push(key);
        if (!prop.getJsDocTags(checker).some((t) => t.name === "default")) missing.push(`${key} (${path.relative(ROOT, decl.getSourceFile().fileName)})`);
      }
      // Nested settings objects of our own (e.g. SshAccess.bastion, HostArgs.volumes[].owner).
      const t = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(prop, decl));
      const inner = checker.isArrayType(t) ? checker.getTypeArguments(t as ts.TypeReference)[0] : t;
      for (const u of inner.isUnion() ? inner.types : [inner]) {
        const d = u.getSymbol()?.declarations?.[0];
        if (u.flags & ts.TypeFlags.Object && d && ours(d) && (ts.isInterfaceDeclaration(d) || ts.isTypeLiteralNode(d))) visit(u, key);
      }
    }
  };
  const index = program.getSourceFile(entry);
  if (!index) throw new Error(`cannot read ${entry}`);
  for (const sym of checker.getExportsOfModule(checker.getSymbolAtLocation(index)!)) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (!(target.flags & ts.SymbolFlags.Class)) continue;
    for (const sig of checker.getTypeOfSymbol(target).getConstructSignatures()) {
      const args = sig.getParameters()[1];
      if (args) visit(checker.getTypeOfSymbol(args), `${target.name}Args`);
    }
  }
  return { checked, missing };
}

test("every optional arg of every exported component documents its @default", () => {
  const { checked, missing } = optionalArgsWithoutDefault(path.join(ROOT, "index.ts"));
  expect(checked.length).toBeGreaterThan(80); // the walk reached the components' args
  expect(checked).toEqual(expect.arrayContaining(["NetworkArgs.cidrBlock", "HostArgs.ssh.bastion", "ElasticsearchClusterArgs.masters.count"]));
  expect(missing).toEqual([]);
}, 60_000);
