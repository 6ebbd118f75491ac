/**
 * The repository documents itself: every comment in src/, test/ and bench/ that cites a page of docs/ names a page
 * and a heading that exist, and no comment cites notes kept outside the repository (the design notes and reference
 * pages AccountDesk started from), which a newcomer cannot open. Links between the README and docs/ resolve too.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const CODE_FOLDERS = ['src', 'test', 'bench'];

interface Comment {
  file: string;
  line: number;
  text: string;
}

/** Every comment of a TypeScript or JavaScript source, found by the TypeScript parser (so never inside a string). */
function commentsOf(source: string, file: string): Comment[] {
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const seen = new Set<number>();
  const comments: Comment[] = [];
  const collect = (ranges: ts.CommentRange[] | undefined): void => {
    for (const range of ranges ?? []) {
      if (seen.has(range.pos)) continue;
      seen.add(range.pos);
      const line = sourceFile.getLineAndCharacterOfPosition(range.pos).line + 1;
      comments.push({ file, line, text: source.slice(range.pos, range.end) });
    }
  };
  const visit = (node: ts.Node): void => {
    collect(ts.getLeadingCommentRanges(source, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(source, node.getEnd()));
    // getChildren includes tokens, so a comment before a closing brace is found as well.
    for (const child of node.getChildren(sourceFile)) visit(child);
  };
  visit(sourceFile);
  return comments.sort((a, b) => a.line - b.line);
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown page's headings (outside code fences), numbered like GitHub's for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = headingAnchor(heading[1]!);
    const seen = counts.get(base) ?? 0;
    counts.set(base, seen + 1);
    anchors.add(seen === 0 ? base : `${base}-${seen}`);
  }
  return anchors;
}

/** Citations of pages that live outside the repository: the old design notes, reference pages and seeds. */
const OUTSIDE_REPOSITORY: ReadonlyArray<[RegExp, string]> = [
  [/\bdesign\.md\b/, 'design.md is not in the repository: cite docs/architecture.md or a public URL'],
  [/\breference\/\w+\.md\b/, 'reference pages are not in the repository: cite a page of docs/ or a public URL'],
  // Not after a hyphen: docs/config-reference.md is a page of the repository.
  [
    /(?<!-)\breference\b\s*(?:[:(]|"|\)|\.md)/i,
    'cites "the reference", which is not in the repository: cite docs/ instead',
  ],
  [/\bref:\s/, 'cites "ref:", a tag for the reference pages outside the repository: cite docs/ instead'],
  [/\bseeds?\s+0\d\d\b/i, 'seeds are not in the repository: cite the public page they came from'],
  [/\/work\/shared\b/, 'a path on one machine: cite a page of docs/ or a public URL'],
];

const DOCS_CITATION = /\bdocs\/([\w./-]+?\.md)(?:#([\w-]+))?/g;

/** What is wrong with the citations in one comment: missing pages, missing headings, pages outside the repo. */
function citationProblems(comment: Comment, root: string = ROOT): string[] {
  const problems: string[] = [];
  const where = `${comment.file}:${comment.line}`;
  for (const [pattern, why] of OUTSIDE_REPOSITORY) {
    if (pattern.test(comment.text)) problems.push(`${where}: ${why}`);
  }
  for (const match of comment.text.matchAll(DOCS_CITATION)) {
    const page = join(root, 'docs', match[1]!);
    const anchor = match[2];
    if (!existsSync(page)) {
      problems.push(`${where}: docs/${match[1]} does not exist`);
    } else if (anchor !== undefined && !anchorsOf(readFileSync(page, 'utf8')).has(anchor)) {
      problems.push(`${where}: docs/${match[1]} has no heading with the anchor #${anchor}`);
    }
  }
  return problems;
}

/** What is wrong with the relative links of a Markdown page: files that do not exist, anchors with no heading. */
function linkProblems(markdownFile: string, root: string = ROOT): string[] {
  const problems: string[] = [];
  const markdown = readFileSync(markdownFile, 'utf8');
  for (const match of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1]!;
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
    const [path, anchor] = target.split('#') as [string, string | undefined];
    const file = path === '' ? markdownFile : resolve(dirname(markdownFile), path);
    const where = `${relative(root, markdownFile)}: (${target})`;
    if (!existsSync(file)) problems.push(`${where} points to a file that does not exist`);
    else if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(readFileSync(file, 'utf8')).has(anchor))
      problems.push(`${where} points to a heading that does not exist`);
  }
  return problems;
}

function codeFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|js|mjs)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

function allComments(): Comment[] {
  return CODE_FOLDERS.flatMap(codeFiles).flatMap((file) =>
    commentsOf(readFileSync(file, 'utf8'), relative(ROOT, file)),
  );
}

describe('documentation in the repository', () => {
  it('every comment that cites docs/ names a page and a heading that exist, and nothing outside the repository', () => {
    const comments = allComments();
    const citing = comments.filter((c) => /\bdocs\/[\w./-]+\.md/.test(c.text));
    // The code cites docs/ in many places; none found would mean this scan itself is broken.
    expect(citing.length).toBeGreaterThan(40);
    expect(comments.flatMap((c) => citationProblems(c))).toEqual([]);
  });

  it('links in the README and in docs/ point to files and headings that exist', () => {
    const pages = [
      join(ROOT, 'README.md'),
      ...readdirSync(join(ROOT, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(ROOT, 'docs', name)),
    ];
    expect(pages.length).toBeGreaterThan(4);
    expect(pages.flatMap((page) => linkProblems(page))).toEqual([]);
  });
});

describe('the citation check itself', () => {
  const comment = (text: string): Comment => ({ file: 'example.ts', line: 1, text });

  it('finds comments and only comments: a citation inside a string is not one', () => {
    const source = [
      '/** Block comment citing docs/slack.md#limits. */',
      "const text = '// docs/not-a-comment.md';",
      'function f() {',
      '  return 1; // trailing docs/architecture.md',
      '  // before the closing brace',
      '}',
    ].join('\n');
    expect(commentsOf(source, 'example.ts').map((c) => [c.line, c.text])).toEqual([
      [1, '/** Block comment citing docs/slack.md#limits. */'],
      [4, '// trailing docs/architecture.md'],
      [5, '// before the closing brace'],
    ]);
  });

  it('reports a missing page, a missing heading, and notes outside the repository', () => {
    expect(citationProblems(comment('// see docs/no-such-page.md'))).toEqual([
      'example.ts:1: docs/no-such-page.md does not exist',
    ]);
    expect(citationProblems(comment('// see docs/slack.md#no-such-heading'))).toEqual([
      'example.ts:1: docs/slack.md has no heading with the anchor #no-such-heading',
    ]);
    expect(citationProblems(comment('// docs/slack.md#limits, docs/architecture.md#state-table'))).toEqual([]);
    const outside = [
      '// (design.md "Request lifecycle")',
      '// (reference/slack.md "Limits")',
      '// (reference "Transport")',
      '// (reference: never retry 400/407)',
      '// ref: "Rate limit"',
      '// seed 001 README',
      '// following /work/shared/notes',
    ];
    for (const text of outside) expect(citationProblems(comment(text)), text).toHaveLength(1);
    expect(citationProblems(comment('// the reference count of a handle'))).toEqual([]);
  });

  it('computes anchors the way GitHub does', () => {
    expect(headingAnchor('Receivers: Socket Mode and HTTP')).toBe('receivers-socket-mode-and-http');
    expect(headingAnchor('user_oidc user ids')).toBe('user_oidc-user-ids');
    expect(headingAnchor('Requests as plans (in progress)')).toBe('requests-as-plans-in-progress');
    expect([...anchorsOf('# A\n```\n# not a heading\n```\n## A\n## B')]).toEqual(['a', 'a-1', 'b']);
  });
});
