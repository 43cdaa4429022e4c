#!/usr/bin/env python3
"""Pinyin initials of place names, for the gazetteer search (op places.search: "gx" finds 贵溪).

Used by deploy/import-osm.sh: reads the GeoJSON lines osmium exported, and writes one CSV row
`name,initials` for every name a place may get (tags name, name:zh, name:en, official_name: the
choices of pg_temp.osm_name in import.sql), which import.sql joins to fill places.initials.

initials("贵溪市") == "gxs": each Han character gives the first letter of its reading, Latin
letters are kept in lower case (full-width ones and accented ones folded: "Ｇ" "É" -> "g" "e"),
everything else (digits, spaces, punctuation, characters no dictionary knows) is skipped.

The readings come from a Debian Rime dictionary: rime-data-pinyin-simp's pinyin_simp.dict.yaml
(simplified characters, also the common traditional ones, with integer weights). Not
rime-data-luna-pinyin's luna_pinyin.dict.yaml as the default: it is a traditional-character
dictionary that reads simplified 厂 as han and 乡 as yuan. More files may be given; lines are
`text<TAB>reading[<TAB>weight]`, the weight a number or a percentage. The first dictionary that
knows a character decides; among its readings the highest weight wins (a tie or no weight: the
first listed). Multi-character entries (phrases, e.g. 重庆 chong qing) are matched first,
longest first, so a polyphonic character takes the reading it has in that word (重庆 -> cq,
where 重 alone is zhong).

    pinyin_initials.py [--dict FILE]... FEATURES.jsonl > initials.csv
    pinyin_initials.py [--dict FILE]... --name TEXT          (prints the initials of TEXT)

Default dictionaries: $GOLDLINE_PINYIN_DICTS (colon-separated), else
/usr/share/rime-data/pinyin_simp.dict.yaml. Exit 2 when none of them is readable.
"""
import csv
import json
import os
import sys
import unicodedata

DEFAULT_DICTS = ["/usr/share/rime-data/pinyin_simp.dict.yaml"]
MAX_PHRASE = 6  # longest phrase looked up, in characters
NAME_TAGS = ("name", "name:zh", "name:en", "official_name")


def _weight(text):
    """A Rime weight ("13963", "99.85%", "") as a number; absent or unreadable: -1."""
    text = text.strip().rstrip("%")
    try:
        return float(text)
    except ValueError:
        return -1.0


def load_dicts(paths):
    """Reads Rime .dict.yaml files into {text: initials of its best reading}.

    paths: file names in order of precedence (an earlier file's entry for a text wins over a
    later one's). Returns the table; raises OSError when no file could be read.
    """
    table = {}
    read = 0
    for path in paths:
        try:
            f = open(path, encoding="utf-8")
        except OSError:
            continue
        read += 1
        best = {}  # text -> (weight, initials), this file only
        with f:
            in_body = False
            for line in f:
                if not in_body:
                    in_body = line.rstrip() == "..."  # the YAML header ends here
                    continue
                if line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 2 or not parts[0] or not parts[1]:
                    continue
                text, syllables = parts[0], parts[1].split()
                if len(syllables) != len(text):
                    continue  # not one syllable per character: not usable for initials
                ini = "".join(s[0] for s in syllables).lower()
                w = _weight(parts[2]) if len(parts) > 2 else -1.0
                if text not in best or w > best[text][0]:
                    best[text] = (w, ini)
        for text, (_, ini) in best.items():
            table.setdefault(text, ini)
    if read == 0:
        raise OSError("no pinyin dictionary readable: " + ", ".join(paths))
    return table


def _latin(ch):
    """The lower-case ASCII letter of a Latin letter (full-width, accented), else ''."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch))
    base = folded[:1]
    return base.lower() if base.isascii() and base.isalpha() else ""


def initials(name, table):
    """The pinyin initials of `name` (see the module text); '' when nothing is left."""
    out = []
    i, n = 0, len(name)
    while i < n:
        for k in range(min(MAX_PHRASE, n - i), 1, -1):
            ini = table.get(name[i:i + k])
            if ini is not None:
                out.append(ini)
                i += k
                break
        else:
            ch = name[i]
            ini = table.get(ch)
            out.append(ini if ini is not None else _latin(ch))
            i += 1
    return "".join(out)


def names_of(features):
    """Every candidate place name in osmium's GeoJSON lines (an iterable of text lines)."""
    seen = set()
    for line in features:
        line = line.strip().lstrip("\x1e")
        if not line:
            continue
        props = json.loads(line).get("properties") or {}
        for tag in NAME_TAGS:
            v = props.get(tag)
            if isinstance(v, str) and v and v not in seen:
                seen.add(v)
                yield v


def main(argv):
    dicts, name, files = [], None, []
    args = iter(argv)
    for a in args:
        if a == "--dict":
            dicts.append(next(args, ""))
        elif a == "--name":
            name = next(args, "")
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            files.append(a)
    if not dicts:
        env = os.environ.get("GOLDLINE_PINYIN_DICTS")
        dicts = env.split(":") if env else DEFAULT_DICTS
    try:
        table = load_dicts(dicts)
    except OSError as e:
        print("pinyin_initials.py: %s (Debian package rime-data-pinyin-simp)" % e, file=sys.stderr)
        return 2
    if name is not None:
        print(initials(name, table))
        return 0
    if len(files) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    w = csv.writer(sys.stdout, lineterminator="\n")
    with open(files[0], encoding="utf-8") as f:
        for n in names_of(f):
            ini = initials(n, table)
            if ini:
                w.writerow([n, ini])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
