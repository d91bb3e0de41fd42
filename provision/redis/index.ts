export * from "./conf";
export * from "./steps";
