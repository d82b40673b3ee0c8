// Loads an ES module by URL. A module of its own, reached by its package name,
// so a bundle (the CLI's, loaded from a V8 code cache with vm.Script) can keep
// it external: there, import() would need an experimental vm loader option.
export function importModule(url: string): Promise<unknown> {
  return import(url);
}
