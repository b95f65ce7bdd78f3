/** A mutant's `find` text does not occur exactly once in its file: the table no longer matches the contracts. */
export class MutantSnippetError extends Error {
  readonly file: string;
  readonly matches: number;

  constructor(mutantId: string, file: string, matches: number) {
    super(
      matches === 0
        ? `mutant ${mutantId}: its snippet is not in ${file} any more; update scripts/mutation/mutants.ts to the guard's new text`
        : `mutant ${mutantId}: its snippet occurs ${matches} times in ${file}; make it unique (include the next line)`,
    );
    this.name = "MutantSnippetError";
    this.file = file;
    this.matches = matches;
  }
}

/** The selected tests fail on the unmutated contracts, so a failure could not be credited to any mutant. */
export class BaselineFailedError extends Error {
  constructor(output: string) {
    super(`the mutants' tests fail on the unmutated contracts; fix them first:\n${output}`);
    this.name = "BaselineFailedError";
  }
}

/** A mutant id given on the command line that the table does not have. */
export class UnknownMutantError extends Error {
  constructor(id: string, known: readonly string[]) {
    super(`no mutant "${id}" (known: ${known.join(", ")})`);
    this.name = "UnknownMutantError";
  }
}
