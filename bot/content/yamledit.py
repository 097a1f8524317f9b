"""Edit a content file as a form would, and keep the rest of the file as it was written.

Administrators change one text, one town, one choice at a time; the published diff must show
that change and nothing else, with every comment kept. Dumping a whole document again (even
with ruamel.yaml's round trip) rewraps hand-wrapped lists and folded strings, so only the
smallest block-style entry that holds the change is written again (by ruamel.yaml, which keeps
its comments and quoting) and spliced into the original text at that entry's lines. Every edit
is checked by reading the new text back: it must hold exactly the data asked for.
"""

from __future__ import annotations

import copy
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

Key = str | int
Path = Sequence[Key]
NO_FOLD = 4096
COMMENT = re.compile(r"^(.*?\S)( {2,}|\t+| )(# .*)$")


class EditError(ValueError):
    """An edit that does not fit the document (no such key, not a list...)."""


def _yaml(sequence_indent: int = 4, offset: int = 2, width: int | None = None) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = width or NO_FOLD  # by default never fold: an entry keeps its lines
    yaml.indent(mapping=2, sequence=sequence_indent, offset=offset)
    return yaml


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(text: str) -> Any:
    """The data as the product reads it (bot/content/files.py: PyYAML, YAML 1.1)."""
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None


def _plain(node: Any) -> Any:
    """The data, without ruamel's comments and styles (for comparing)."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


@dataclass(frozen=True)
class _Entry:
    """Where an entry of a block collection sits in the text: lines [start, end), the column
    its key or item begins at, and whether it is a sequence item (written after `- `)."""

    start: int
    end: int
    column: int
    item: bool


class YamlDocument:
    """One content file's text; edits return nothing and change `text`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._load()

    # ------------------------------------------------------------------ reading

    def _load(self) -> None:
        self.data = _yaml().load(self.text)
        self.lines = self.text.splitlines(keepends=True)
        self._sequence_style = self._detect_sequence_style()

    def _detect_sequence_style(self) -> tuple[int, int]:
        """(sequence indent, dash offset) as this file writes block lists: `key:` then
        `  - item` (4, 2) or `- item` under the key's own column (2, 0)."""
        def walk(node: Any, column: int) -> tuple[int, int] | None:
            if isinstance(node, CommentedMap) and not node.fa.flow_style():
                for key, value in node.items():
                    key_column = node.lc.key(key)[1]
                    if isinstance(value, CommentedSeq) and not value.fa.flow_style() and value \
                            and value.lc.line != node.lc.key(key)[0]:
                        dash = value.lc.item(0)[1] - 2
                        return (4, 2) if dash > key_column else (2, 0)
                    found = walk(value, key_column)
                    if found:
                        return found
            if isinstance(node, CommentedSeq) and not node.fa.flow_style():
                for value in node:
                    found = walk(value, column)
                    if found:
                        return found
            return None
        return walk(self.data, 0) or (4, 2)

    def get(self, path: Path) -> Any:
        node = self.data
        for key in path:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                raise EditError(f"no {'/'.join(map(str, path))}") from None
        return node

    def plain(self, path: Path = ()) -> Any:
        return _plain(self.get(path))

    # ------------------------------------------------------------------ edits

    def set(self, path: Path, value: Any) -> None:
        """Set the value at `path` (a new key is added at the end of its mapping)."""
        if not path:
            raise EditError("the whole document cannot be set")
        parent = self.get(path[:-1])
        key = path[-1]
        if _has(parent, key) and _plain(parent[key]) == _plain(value):
            return  # the form sent back what was there: the file stays byte for byte
        expected = copy.deepcopy(self.data)
        target = _walk(expected, path[:-1])
        if isinstance(target, dict):
            old = target.get(key)
            target[key] = _styled(old, value)
        elif isinstance(target, list) and isinstance(key, int) and _has(target, key):
            target[key] = _styled(target[key], value)
        else:
            raise EditError(f"no {'/'.join(map(str, path))}")
        if isinstance(parent, dict) and key not in parent:
            self._rewrite_for_insert(path[:-1], expected)
        else:
            self._rewrite(path, expected)

    def insert(self, path: Path, index: int, value: Any) -> None:
        """Insert `value` into the list at `path` before `index` (len: at the end)."""
        items = self.get(path)
        if not isinstance(items, list) or not 0 <= index <= len(items):
            raise EditError(f"no place {index} in {'/'.join(map(str, path))}")
        expected = copy.deepcopy(self.data)
        # Written like its neighbours: a list of one-line {…} choices gets one more.
        _walk(expected, path).insert(index, _styled(items[0] if items else None, value))
        self._rewrite_for_insert(path, expected)

    def remove(self, path: Path) -> None:
        """Remove the key or list item at `path`, with the comment lines just above it."""
        if not path:
            raise EditError("the whole document cannot be removed")
        self.get(path)
        expected = copy.deepcopy(self.data)
        container = _walk(expected, path[:-1])
        del container[path[-1]]
        parent = self.get(path[:-1])
        if self._block(parent) and len(parent) > 1:
            entry = self._entry(path)
            start = self._leading_comments(entry)
            self._splice(start, entry.end, "", expected)
        else:
            self._rewrite(path[:-1], expected)

    def move(self, path: Path, old: int, new: int) -> None:
        """Move the list item at index `old` of the list at `path` to index `new`."""
        items = self.get(path)
        if not isinstance(items, list) or not (0 <= old < len(items) and 0 <= new < len(items)):
            raise EditError(f"no item {old} or {new} in {'/'.join(map(str, path))}")
        if old == new:
            return
        expected = copy.deepcopy(self.data)
        moved = _walk(expected, path)
        moved.insert(new, moved.pop(old))
        if not self._block(items):
            self._rewrite(path, expected)
            return
        entries = [self._entry([*path, i]) for i in range(len(items))]
        starts = [self._leading_comments(e) for e in entries]
        chunks = ["".join(self.lines[s:e.end]) for s, e in zip(starts, entries, strict=True)]
        # The last item may end without a newline (end of file): every chunk ends with one.
        chunks = [c if c.endswith("\n") else c + "\n" for c in chunks]
        chunks.insert(new, chunks.pop(old))
        self._splice(starts[0], entries[-1].end, "".join(chunks), expected)

    # ------------------------------------------------------------------ where things are

    @staticmethod
    def _block(node: Any) -> bool:
        return isinstance(node, (CommentedMap, CommentedSeq)) and not node.fa.flow_style()

    def _entry(self, path: Path) -> _Entry:
        """The lines of the entry at `path`, whose parent is a block collection."""
        parent = self.get(path[:-1])
        key = path[-1]
        if isinstance(parent, CommentedMap):
            keys = list(parent.keys())
            position = keys.index(key)
            line, column = parent.lc.key(key)
            following = keys[position + 1] if position + 1 < len(keys) else None
            next_line = parent.lc.key(following)[0] if following is not None else None
            item = False
        else:
            assert isinstance(parent, CommentedSeq) and isinstance(key, int)
            index = key % len(parent)
            line, column = parent.lc.item(index)
            next_line = parent.lc.item(index + 1)[0] if index + 1 < len(parent) else None
            item = True
        if next_line is None:
            next_line = self._entry(path[:-1]).end if len(path) > 1 else len(self.lines)
        end = next_line
        # Blank lines and comments at or left of this entry's column before the next entry
        # belong to what follows, not to this entry.
        while end > line + 1 and _trailing(self.lines[end - 1], column):
            end -= 1
        return _Entry(line, end, column, item)

    def _leading_comments(self, entry: _Entry) -> int:
        """The first line of the comment block written right above an entry (no blank line
        between), which goes with it when it is moved or removed."""
        start = entry.start
        lowest = entry.column - 2 if entry.item else entry.column
        while start > 0:
            above = self.lines[start - 1]
            stripped = above.lstrip(" ")
            if stripped.startswith("#") and lowest <= len(above) - len(stripped) <= entry.column:
                start -= 1
            else:
                break
        return start

    # ------------------------------------------------------------------ writing

    def _rewrite(self, path: Path, expected: Any) -> None:
        """Write again the smallest block entry that contains `path` (the whole document when
        there is none)."""
        for depth in range(len(path), 0, -1):
            if self._block(self.get(path[:depth - 1])):
                entry_path = list(path[:depth])
                entry = self._entry(entry_path)
                parent = _walk(expected, entry_path[:-1])
                # A list the writer wrapped by hand is wrapped again, as wide as they did.
                wrapped = [_columns(line.rstrip("\n")) for line in self.lines[entry.start:entry.end]
                           if line.rstrip().endswith(",") and not line.lstrip().startswith("#")]
                # A long text folded over lines is folded again at the same width.
                body = [line.rstrip("\n") for line in self.lines[entry.start:entry.end]
                        if not line.lstrip().startswith("#")]
                value = _walk(expected, entry_path)
                fold = max(map(len, body)) if len(body) > 1 and isinstance(value, str) \
                    and not isinstance(value, LiteralScalarString) else None
                new = self._dump_entry(parent, entry_path[-1], entry,
                                       wrap=max(wrapped) if wrapped else None, fold=fold)
                new = _same_comment_gap(self.lines[entry.start], new)
                self._splice(entry.start, entry.end, new, expected)
                return
        self._whole(expected)

    def _rewrite_for_insert(self, path: Path, expected: Any) -> None:
        """A new key or item in the collection at `path`: written after the entry it follows
        (before the one it precedes, for an item put first), else the collection again."""
        container = self.get(path)
        after = _walk(expected, path)
        if not self._block(container) or not container:
            if path:
                self._rewrite(path, expected)
            else:
                self._whole(expected)
            return
        if isinstance(after, dict):
            new_keys = [k for k in after if k not in container]
            (key,) = new_keys
            index = list(after.keys()).index(key)
        else:
            index = next((i for i in range(len(after)) if i >= len(container)
                          or _plain(after[i]) != _plain(container[i])), len(container))
            key = index
        if index > 0:
            previous = list(after.keys())[index - 1] if isinstance(after, dict) else index - 1
            neighbour = self._entry([*path, previous])
            at = neighbour.end
        else:
            first = next(iter(container)) if isinstance(container, dict) else 0
            neighbour = self._entry([*path, first])
            at = self._leading_comments(neighbour)
        new = self._dump_entry(after, key, neighbour)
        if at > 0 and not self.lines[at - 1].endswith("\n"):
            new = "\n" + new
        self._splice(at, at, new, expected)

    def _dump_entry(self, parent: Any, key: Key, like: _Entry, wrap: int | None = None,
                    fold: int | None = None) -> str:
        """The entry `key` of `parent` as block YAML at the column of `like`."""
        if isinstance(parent, dict):
            holder: Any = CommentedMap()
            holder[key] = parent[key]
            if isinstance(parent, CommentedMap) and key in parent.ca.items:
                holder.ca.items[key] = _eol_only(parent.ca.items[key])
        else:
            holder = CommentedSeq([parent[key]])
            if isinstance(parent, CommentedSeq) and key in parent.ca.items:
                holder.ca.items[0] = _eol_only(parent.ca.items[key])
        sequence_indent, offset = self._sequence_style
        out = io.StringIO()
        _yaml(sequence_indent, offset, fold or NO_FOLD).dump(holder, out)
        lines = out.getvalue().splitlines(keepends=True)
        first = next(line for line in lines if line.strip() and not line.lstrip().startswith("#"))
        begins = len(first) - len(first.lstrip(" "))
        if isinstance(holder, CommentedSeq):
            begins += 2  # the item's own column is after its `- `
        shift = like.column - begins
        shifted = [" " * shift + line if line.strip() else line for line in lines]
        # ruamel hangs the comments written above the next entry on this one's last value;
        # they are outside this entry's lines and stay where they are.
        while len(shifted) > 1 and _trailing(shifted[-1], like.column):
            shifted.pop()
        # ...and the comments above this entry, which stay above it.
        while len(shifted) > 1 and _trailing(shifted[0], like.column):
            shifted.pop(0)
        return "".join(_wrap(line, wrap) if wrap else line for line in shifted)

    def _splice(self, start: int, end: int, new: str, expected: Any) -> None:
        if new and start < end:
            # The first key of a list item shares its line with the item's `- `: kept.
            lead = self.lines[start][:len(new) - len(new.lstrip(" "))]
            if lead.strip() in {"-", "- -"} or lead.strip().startswith("- "):
                new = lead + new[len(lead):]
        text = "".join(self.lines[:start]) + new + "".join(self.lines[end:])
        try:
            written = _read(text)
        except (YAMLError, yaml.YAMLError):
            written = None
        if written != _plain(expected):
            self._whole(expected)  # never publish data other than what was asked
            return
        self.text = text
        self._load()

    def _whole(self, expected: Any) -> None:
        sequence_indent, offset = self._sequence_style
        out = io.StringIO()
        _yaml(sequence_indent, offset).dump(expected, out)
        text = out.getvalue()
        if _read(text) != _plain(expected):
            raise EditError("the edit could not be written")
        self.text = text
        self._load()


def append_to_last_list(text: str, key: str, items: list[Any]) -> str:
    """`text` with `items` added at the end of the top-level list `key` that ends the file
    (a language file's `texts`). A big file is not parsed with ruamel.yaml for this: the items
    are written like the list's first item and the result is read back to hold exactly the old
    data plus them; anything else is done by `YamlDocument`."""
    if not items:
        return text
    data = _read(text)
    if not isinstance(data, dict) or list(data)[-1:] != [key] or \
            not isinstance(data[key], list):
        return _extend_slowly(text, key, items)
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{key}:")), None)
    dash = next((line[:len(line) - len(line.lstrip(" "))] for line in lines[(start or 0) + 1:]
                 if line.lstrip(" ").startswith("- ")), None) if start is not None else None
    if dash is None:
        return _extend_slowly(text, key, items)
    out = io.StringIO()
    writer = _yaml(len(dash) + 2, len(dash))
    writer.dump({key: items}, out)
    added = out.getvalue().split("\n", 1)[1]
    new = text + ("" if text.endswith("\n") else "\n") + added
    if _read(new) != {**data, key: [*data[key], *items]}:
        return _extend_slowly(text, key, items)
    return new


def set_entry_field(text: str, key: str, entry_id: str, field: str, value: Any) -> str:
    """`text` with `field` of the entry `- id: <entry_id>` in the top-level list `key` set to
    `value` (a corpus message relabelled in a file of 3,000 lines). Only that field's lines are
    written again; the result is read back and must hold exactly the old data with that one
    change, else `YamlDocument` does it. Raises KeyError for an id the list does not have."""
    data = _read(text)
    rows = data.get(key) if isinstance(data, dict) else None
    index = next((i for i, row in enumerate(rows or []) if isinstance(row, dict)
                  and str(row.get("id")) == entry_id), None)
    if rows is None or index is None:
        raise KeyError(entry_id)
    expected = {**data, key: [*rows[:index], {**rows[index], field: value}, *rows[index + 1:]]}
    lines = text.splitlines(keepends=True)
    pattern = re.compile(rf"^(\s*)- id: ['\"]?{re.escape(entry_id)}['\"]?\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if pattern.match(line.rstrip("\n"))), None)
    if start is not None:
        dash = len(pattern.match(lines[start].rstrip("\n")).group(1))  # type: ignore[union-attr]
        end = next((i for i in range(start + 1, len(lines)) if lines[i].strip()
                    and _indent(lines[i]) <= dash), len(lines))
        at = next((i for i in range(start + 1, end)
                   if lines[i].startswith(" " * (dash + 2) + field + ":")), None)
        out = io.StringIO()
        yaml.safe_dump({field: value}, out, allow_unicode=True, sort_keys=False,
                       width=NO_FOLD, default_flow_style=True if isinstance(value, list)
                       else None)
        new_lines = ["" if not line else " " * (dash + 2) + line + "\n"
                     for line in out.getvalue().rstrip("\n").split("\n")]
        if at is None:  # a field the entry did not have goes at its end
            last = max(i for i in range(start, end) if lines[i].strip())
            lines[last + 1:last + 1] = new_lines
        else:
            after = next((i for i in range(at + 1, end) if lines[i].strip()
                          and _indent(lines[i]) <= dash + 2), end)
            lines[at:after] = new_lines
        new = "".join(lines)
        if _read(new) == expected:
            return new
    document = YamlDocument(text)
    document.set((key, index, field), value)
    return document.text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _extend_slowly(text: str, key: str, items: list[Any]) -> str:
    document = YamlDocument(text)
    for item in items:
        document.insert((key,), len(document.get((key,))), item)
    return document.text


def _wrap(line: str, width: int) -> str:
    """A one-line `[…]` or `{…}` too long for the file, wrapped as people wrap them here:
    after a comma, the next line lined up under the first item."""
    body = line.rstrip("\n")
    if _columns(body) <= width or not body.endswith(("]", "}")):
        return line
    opening = next((i for i, c in enumerate(body) if c in "[{"
                    and body[:i].rstrip().endswith((":", "-"))), None)
    if opening is None:
        return line
    parts = _split_items(body[opening + 1:-1])
    if parts is None or len(parts) < 2:
        return line
    indent = " " * (opening + 1)
    lines, current = [], body[:opening + 1] + parts[0]
    for part in parts[1:]:
        if _columns(current) + 2 + _columns(part) > width:
            lines.append(current + ",")
            current = indent + part
        else:
            current += ", " + part
    lines.append(current + body[-1])
    return "\n".join(lines) + ("\n" if line.endswith("\n") else "")


def _columns(text: str) -> int:
    """Display width: a kanji or kana takes two columns, as in the editors it was wrapped in."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _split_items(inner: str) -> list[str] | None:
    """The items of a flow collection's inside, split at top-level `, ` (quotes and nested
    brackets respected); None when it cannot tell."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(inner):
        c = inner[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                if quote == "'" and inner[i + 1:i + 2] == "'":
                    i += 1
                else:
                    quote = ""
        elif c in "'\"":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0 and inner[i + 1:i + 2] == " ":
            parts.append(inner[start:i])
            start = i + 2
            i += 1
        i += 1
    if quote or depth:
        return None
    parts.append(inner[start:])
    return parts


def _same_comment_gap(original: str, new: str) -> str:
    """The entry's first line keeps the spaces before its end-of-line comment (ruamel lines
    comments up by the column they had in the whole file)."""
    was = COMMENT.match(original.rstrip("\n"))
    first, _, rest = new.partition("\n")
    now = COMMENT.match(first)
    if not was or not now or was.group(3) != now.group(3):
        return new
    return now.group(1) + was.group(2) + now.group(3) + ("\n" + rest if _ else "")


def _has(container: Any, key: Key) -> bool:
    if isinstance(container, dict):
        return key in container
    return isinstance(container, list) and isinstance(key, int) \
        and -len(container) <= key < len(container)


def _walk(node: Any, path: Path) -> Any:
    for key in path:
        node = node[key]
    return node


def _trailing(line: str, column: int) -> bool:
    stripped = line.lstrip(" ")
    return not stripped.strip() or (stripped.startswith("#")
                                     and len(line) - len(stripped) <= column)


def _eol_only(comment: list[Any]) -> list[Any]:
    """An entry's comment tokens without what ruamel hangs after it (the comment lines above
    the next entry, which stay where they are)."""
    kept = list(comment)
    for i, token in enumerate(kept):
        if token is not None and hasattr(token, "value") and "\n" in token.value:
            first = token.value.split("\n", 1)[0]
            if first.strip():
                token = copy.copy(token)
                token.value = first + "\n"
                kept[i] = token
            else:
                kept[i] = None
    return kept


def _styled(old: Any, new: Any) -> Any:
    """A new value written the way the old one was: a quoted string stays quoted; a text of
    several lines is a literal block (|), as people write the bubbles."""
    if isinstance(new, str):
        if isinstance(old, str) and type(old) is not str:
            return type(old)(new)  # quoted stays quoted, a block stays a block
        if "\n" in new:
            return LiteralScalarString(new)
        # ruamel writes YAML 1.2, the product reads 1.1: 12:00, yes, on and 0o7 would come back
        # as numbers or booleans unless quoted.
        return new if _read(f"v: {new}\n") == {"v": new} else SingleQuotedScalarString(new)
    if isinstance(new, dict) and not isinstance(new, CommentedMap):
        styled = CommentedMap()
        for k, v in new.items():
            styled[k] = _styled(old.get(k) if isinstance(old, dict) else None, v)
        if isinstance(old, CommentedMap) and old.fa.flow_style():
            styled.fa.set_flow_style()
        return styled
    if isinstance(new, list) and not isinstance(new, CommentedSeq):
        olds = list(old) if isinstance(old, list) else []
        seq = CommentedSeq([_styled(olds[i] if i < len(olds) else None, v)
                            for i, v in enumerate(new)])
        if isinstance(old, CommentedSeq) and old.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    return new
