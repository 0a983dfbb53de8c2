import { stringify } from 'yaml';
import type { CliIo } from './io.ts';

/** Left-aligned columns separated by two spaces, like kubectl's tables. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** The `-o` formats, as kubectl names them: `table` is its default (no `-o`). */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** One column of a command's table; `wide` columns appear only with `-o wide`. */
export interface Column<T> {
  title: string;
  cell(item: T): string;
  wide?: boolean;
}

/** How a command shows its objects in every `-o` format. */
export interface ObjectView<T> {
  /** `-o name` prints `<kind>/<name>`, e.g. `token/kubeconfig-u-abc12xyz`. */
  kind: string;
  nameOf(item: T): string;
  columns: Column<T>[];
  /** Said on stderr by table formats when there is nothing to list. */
  empty: string;
}

/** JSON as every command prints it: two-space indented, one trailing newline. */
export function formatJson(data: unknown): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** YAML of the same data `formatJson` prints (the same field names and values). */
export function formatYaml(data: unknown): string {
  return stringify(data, { lineWidth: 0 });
}

/**
 * Prints objects in the chosen format: json and yaml print the objects themselves (a list, like
 * `kubectl get … -o json` prints a List's items), name prints `kind/name` lines, table and wide print
 * columns, or the view's `empty` note on stderr when there are none.
 */
export function printObjects<T extends object>(io: CliIo, format: OutputFormat, items: T[], view: ObjectView<T>): void {
  if (format === 'json') io.stdout(formatJson(items));
  else if (format === 'yaml') io.stdout(formatYaml(items));
  else if (format === 'name') io.stdout(items.map((item) => `${view.kind}/${view.nameOf(item)}\n`).join(''));
  else if (items.length === 0) io.stderr(`${view.empty}\n`);
  else {
    const columns = view.columns.filter((column) => format === 'wide' || !column.wide);
    io.stdout(formatTable(columns.map((column) => column.title), items.map((item) => columns.map((column) => column.cell(item)))));
  }
}
