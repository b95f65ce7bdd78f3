/** One thing wrong with the node's configuration: which field, what is wrong, and how to set it. */
export interface ConfigIssue {
  field: string;
  message: string;
}

/** The configuration cannot be used; `issues` lists every problem found, each naming its field. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    const lines = issues.map((issue) => `  - ${issue.field}: ${issue.message}`);
    super(`Invalid node configuration:\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}
