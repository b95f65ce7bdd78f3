// The WebAssembly JS API as Node 24 provides it. TypeScript only declares it in lib.dom, which this
// project leaves out, so the subset the wasm backend uses is declared here (shapes as in lib.dom).
declare namespace WebAssembly {
  type ImportValue = ExportValue | number;
  type ExportValue = Function | Global | Memory | Table;
  type Exports = Record<string, ExportValue>;
  type ModuleImports = Record<string, ImportValue>;
  type Imports = Record<string, ModuleImports>;

  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  interface Memory {
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }
  var Memory: { prototype: Memory; new (descriptor: MemoryDescriptor): Memory };

  interface Module {}
  var Module: { prototype: Module; new (bytes: BufferSource): Module };

  interface Instance {
    readonly exports: Exports;
  }
  var Instance: { prototype: Instance; new (module: Module, importObject?: Imports): Instance };

  interface Global {
    value: any;
  }
  interface Table {
    readonly length: number;
  }

  type BufferSource = ArrayBufferView | ArrayBuffer;
  function validate(bytes: BufferSource): boolean;
  function compile(bytes: BufferSource): Promise<Module>;
}
