// Errors caused by the input data (missing or malformed files), as opposed to
// failures of the code: command-line tools report these as bad input (exit 2).
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetError";
  }
}
