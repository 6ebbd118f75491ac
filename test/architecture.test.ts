/**
 * The import rules of docs/architecture.md#what-may-import-what, checked against the actual imports of src/: a
 * change that makes the domain import Slack, or a backend import the domain, fails here with the rule it breaks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** Every module a file imports or re-exports: repo-relative paths for local modules, package names otherwise. */
function importsOf(source: string, file: string): string[] {
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false);
  const targets: string[] = [];
  for (const statement of sourceFile.statements) {
    const specifier =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier
        ? (statement.moduleSpecifier as ts.StringLiteral).text
        : undefined;
    if (specifier === undefined) continue;
    targets.push(
      specifier.startsWith('.') ? join(dirname(file), specifier).replace(/\.js$/, '.ts') : packageName(specifier),
    );
  }
  return targets;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const under = (folder: string) => (path: string) => path.startsWith(`${folder}/`);
const oneOf =
  (...paths: string[]) =>
  (path: string) =>
    paths.includes(path);

interface Rule {
  /** Which importing files the rule is about. */
  importer: (file: string) => boolean;
  /** Which imported modules it forbids them. */
  forbidden: (target: string) => boolean;
  why: string;
}

const RULES: Rule[] = [
  {
    importer: (f) => under('src/requests')(f) || under('src/store')(f) || under('src/backends')(f),
    forbidden: (t) => under('src/slack')(t) || under('src/config')(t) || oneOf('src/app.ts', 'src/main.ts')(t),
    why: 'imports point down: the domain, the store and the backends never import Slack, config or wiring',
  },
  {
    importer: under('src/requests'),
    forbidden: (t) =>
      (under('src/backends')(t) && t !== 'src/backends/types.ts') ||
      (under('src/store')(t) && t !== 'src/store/types.ts') ||
      t === 'src/liveness.ts',
    why:
      'the domain sees a backend only as BackendClient (backends/types.ts) ' +
      'and the store only through store/types.ts',
  },
  {
    importer: (f) => under('src/store')(f) || under('src/backends')(f),
    forbidden: (t) => under('src/requests')(t) || t === 'src/liveness.ts',
    why: 'the store and the backends import nothing from the layers above them',
  },
  {
    importer: under('src/store'),
    forbidden: under('src/backends'),
    why: 'the store and the backends are independent of each other',
  },
  {
    importer: under('src/backends'),
    forbidden: under('src/store'),
    why: 'the store and the backends are independent of each other',
  },
  {
    importer: (f) => !under('src/slack')(f),
    forbidden: (t) => t === '@slack/bolt' || t === '@slack/web-api' || t === '@slack/types',
    why: 'only src/slack/ knows Bolt and the Slack SDK',
  },
  {
    importer: (f) => !under('src/store/engines')(f),
    forbidden: (t) => t === 'keyv' || t.startsWith('@keyv/'),
    why: 'only src/store/engines/ touches keyv',
  },
  {
    importer: (f) => f !== 'src/backends/http.ts',
    forbidden: (t) => t === 'undici',
    why: 'only src/backends/http.ts touches undici',
  },
];

function importProblems(file: string, targets: string[]): string[] {
  return RULES.flatMap((rule) =>
    rule.importer(file) ? targets.filter(rule.forbidden).map((target) => `${file} imports ${target}: ${rule.why}`) : [],
  );
}

function sourceFiles(): string[] {
  return readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

describe('the layers of docs/architecture.md', () => {
  it('every import in src/ follows the rules', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    const problems = files.flatMap((file) =>
      importProblems(file, importsOf(readFileSync(join(ROOT, file), 'utf8'), file)),
    );
    expect(problems).toEqual([]);
  });

  it('reads imports, type-only imports and re-exports, and names the rule a forbidden one breaks', () => {
    const source = [
      "import type { App } from '@slack/bolt';",
      "import { ACTION } from '../slack/ids.js';",
      "export { thing } from './kind.js';",
      'const text = "import x from \'undici\'";',
    ].join('\n');
    const targets = importsOf(source, 'src/requests/example.ts');
    expect(targets).toEqual(['@slack/bolt', 'src/slack/ids.ts', 'src/requests/kind.ts']);
    expect(importProblems('src/requests/example.ts', targets)).toEqual([
      'src/requests/example.ts imports src/slack/ids.ts: imports point down: the domain, the store and the backends ' +
        'never import Slack, config or wiring',
      'src/requests/example.ts imports @slack/bolt: only src/slack/ knows Bolt and the Slack SDK',
    ]);
    expect(importProblems('src/slack/example.ts', targets)).toEqual([]);
  });
});
