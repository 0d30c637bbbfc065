import { isAbsolute, resolve } from 'node:path';
import { ConvertError } from './errors.js';
import type { ComposeFiles } from './files.js';
import type { ComposeDocument } from './load.js';
import type { Project } from './project.js';
import type { Report } from './report.js';
import type { YamlMap } from './values.js';

/** What the mapping of one service needs: the project, the service's definition, and where to report. */
export class ServiceContext {
  constructor(
    readonly project: Project,
    readonly doc: ComposeDocument,
    /** The service's key under `services`. */
    readonly service: string,
    readonly def: YamlMap,
    readonly files: ComposeFiles,
    readonly report: Report,
    /** The home dir `~` stands for in paths (HOME of the environment). */
    readonly home: string | undefined,
  ) {}

  /** Reports a field of this service the spec does not carry (or carries differently). */
  lose(field: string, message: string): void {
    this.report.lose(this.service, field, message);
  }

  /** Tells the operator something about a field of this service. */
  note(field: string, message: string): void {
    this.report.note(this.service, field, message);
  }

  /** A problem compose itself refuses the file for, at a path under this service. */
  invalid(path: Array<string | number>, message: string): ConvertError {
    const full = ['services', this.service, ...path];
    return ConvertError.at('INVALID', this.doc.file, `services.${this.service}.${path.join('.')}: ${message}`, this.doc.at(full));
  }

  /** A host path of the compose file made absolute: `~` is the home dir, a relative path is taken from the compose file's dir. */
  hostPath(p: string, path: Array<string | number>): string {
    if (p === '~' || p.startsWith('~/')) {
      if (this.home === undefined) throw this.invalid(path, `${JSON.stringify(p)} starts with "~", and HOME is not set`);
      return resolve(this.home, `.${p.slice(1)}`);
    }
    return isAbsolute(p) ? resolve(p) : resolve(this.project.dir, p);
  }
}
