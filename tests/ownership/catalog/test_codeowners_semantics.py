"""GitHub's CODEOWNERS matching, case by case from GitHub's documentation ("About code owners"): the last
matching pattern wins, patterns follow .gitignore rules (anchored when they hold a slash before the end),
`**`, trailing slashes for directories, comments, and the three kinds of owner."""

from __future__ import annotations

import pytest

from ownership.catalog.codeowners import Rules

# (rules, path, the owners GitHub gives that path)
CASES = [
    ("*.js @js", "a.js", ["@js"]),
    ("*.js @js", "src/deep/a.js", ["@js"]),
    ("*.js @js", "a.jsx", []),
    ("/docs/ @d", "docs/a.md", ["@d"]),
    ("/docs/ @d", "docs/sub/a.md", ["@d"]),
    ("/docs/ @d", "src/docs/a.md", []),  # anchored at the root
    ("docs/ @d", "src/docs/a.md", ["@d"]),  # a trailing slash only: any docs directory
    ("apps/ @o", "apps/x/y.py", ["@o"]),
    ("apps/ @o", "deep/apps/y.py", ["@o"]),
    ("apps/ @o", "apps", []),  # a file named apps is not the directory
    ("docs/* @d", "docs/a.md", ["@d"]),
    ("docs/* @d", "docs/sub/a.md", []),  # not further nested files
    ("docs/* @d", "src/docs/a.md", []),  # a slash in the middle anchors it
    ("**/logs @o", "logs/a.log", ["@o"]),
    ("**/logs @o", "x/y/logs/a.log", ["@o"]),
    ("**/logs @o", "x/logsx/a.log", []),
    ("/build/logs/ @d", "build/logs/a", ["@d"]),
    ("/build/logs/ @d", "build/logs/deep/a", ["@d"]),
    ("/build/logs/ @d", "x/build/logs/a", []),
    ("*.js @js\n/docs/ @d", "docs/a.js", ["@d"]),  # the last match wins
    ("/docs/ @d\n*.js @js", "docs/a.js", ["@js"]),
    ("*.txt @t\ndocs/* @d", "docs/a.txt", ["@d"]),
    ("* @all\n/apps/ @o\n/apps/github", "apps/github/x", []),  # a last rule without owners leaves none
    ("* @all\n/apps/ @o\n/apps/github", "apps/other/x", ["@o"]),
    ("* @all", "any/deep/file", ["@all"]),
    ("* @org/team @user a@example.com", "f", ["@org/team", "@user", "a@example.com"]),
    ("# a comment\n\n*.go @go # inline comment", "a.go", ["@go"]),
    ("/a/**/b @x", "a/b/f", ["@x"]),  # ** is zero or more directories
    ("/a/**/b @x", "a/1/2/b/f", ["@x"]),
    ("src/*.py @p", "src/a.py", ["@p"]),
    ("src/*.py @p", "src/sub/a.py", []),
    ("README.md @r", "docs/README.md", ["@r"]),  # no slash: a name anywhere
    ("/README.md @r", "docs/README.md", []),
    ("docs @d", "x/docs/a.md", ["@d"]),  # a bare name also matches a directory anywhere
    ("*.js @js\n*.js @other", "a.js", ["@other"]),
]


@pytest.mark.parametrize(("rules", "path", "owners"), CASES, ids=[f"{r!r}-{p}" for r, p, _ in CASES])
def test_github_semantics(rules: str, path: str, owners: list[str]) -> None:
    assert Rules.parse(rules).owners_of(path) == owners


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize(("directory", "owners"), [
    ("services/payments", ["@org/payments"]),
    ("services/payments/", ["@org/payments"]),
    ("services/payments/internal", ["@org/payments"]),
    ("services/search", ["@org/search"]),
    ("services/web", ["@org/platform"]),  # *.js matches files inside, but the probe is no .js file
    ("tools", ["@org/platform"]),
])
def test_a_directorys_owners_are_the_last_rule_matching_a_file_directly_inside(directory: str,
                                                                                 owners: list[str]) -> None:
    rules = Rules.parse("* @org/platform\n/services/payments/ @org/payments\nsearch/ @org/search\n*.js @org/web")
    assert rules.directory_owners(directory) == owners
