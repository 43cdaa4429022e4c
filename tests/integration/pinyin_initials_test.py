#!/usr/bin/env python3
"""Unit test of deploy/osm/pinyin_initials.py (the pinyin initials of place names, issue 8).

Runs on a small hand-made Rime dictionary written here, so every expected value follows from
the rules alone: the highest weight of a polyphonic character wins (integer and percentage
weights), a phrase entry beats the single characters, the first dictionary that knows a text
decides, the YAML header is not read as entries, Latin letters are kept in lower case (full-width
and accented ones folded), digits, punctuation and unknown characters are skipped. When Debian's
rime-data-pinyin-simp is installed, also a few real names through the real dictionary.

Run by tests/integration/import_osm.sh; alone: python3 tests/integration/pinyin_initials_test.py
(unittest output, exit 0 when all pass).
"""
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "deploy", "osm"))
import pinyin_initials as pi  # noqa: E402

# A Rime dictionary: header up to "...", then text<TAB>reading[<TAB>weight].
MAIN = """# test dictionary
---
name: test
\u5e02\tma\t99999
...

\u8d35\tgui
\u6eaa\tqi\t3
\u6eaa\txi\t1301
\u5e02\tshi\t10
\u91cd\tchong\t4543
\u91cd\tzhong\t6392
\u5e86\tqing\t100
\u957f\tchang\t60.26%
\u957f\tzhang\t39.74%
\u4e50\tle
\u4e50\tyue
\u91cd\u5e86\tchong qing\t8546
\u53e5\tgou\t5
\u53e5\tju\t5
\u4e0d\u6210\tbad
"""
# A second dictionary: only for what the first does not know.
EXTRA = """---
name: extra
...
\u8d35\tkui\t100
\u5c71\tshan
"""


class Initials(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.main = os.path.join(cls.dir.name, "main.dict.yaml")
        cls.extra = os.path.join(cls.dir.name, "extra.dict.yaml")
        with open(cls.main, "w", encoding="utf-8") as f:
            f.write(MAIN)
        with open(cls.extra, "w", encoding="utf-8") as f:
            f.write(EXTRA)
        cls.table = pi.load_dicts([cls.main, cls.extra])

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def ini(self, name):
        return pi.initials(name, self.table)

    def test_highest_weight_wins(self):
        self.assertEqual(self.ini("\u8d35\u6eaa\u5e02"), "gxs")           # 溪: xi 1301 over qi 3
        self.assertEqual(self.ini("\u957f"), "c")                          # 60.26% over 39.74%
        self.assertEqual(self.ini("\u91cd"), "z")                          # zhong 6392 over chong

    def test_no_weight_or_tie_takes_the_first_listed(self):
        self.assertEqual(self.ini("\u4e50"), "l")
        self.assertEqual(self.ini("\u53e5"), "g")

    def test_phrase_beats_single_characters(self):
        self.assertEqual(self.ini("\u91cd\u5e86\u5e02"), "cqs")           # 重庆 chong qing
        self.assertEqual(self.ini("\u5e86\u91cd"), "qz")                   # no phrase: zhong

    def test_header_is_not_read_and_bad_entries_are_dropped(self):
        self.assertEqual(self.ini("\u5e02"), "s")                          # header: ma 99999
        self.assertNotIn("\u4e0d\u6210", self.table)                       # 2 chars, 1 syllable

    def test_first_dictionary_decides(self):
        self.assertEqual(self.ini("\u8d35"), "g")                          # main: gui, not kui
        self.assertEqual(self.ini("\u5c71"), "s")                          # only in extra

    def test_latin_digits_punctuation_unknown(self):
        self.assertEqual(self.ini("Guixi"), "guixi")
        self.assertEqual(self.ini("\uff27320\u8d35\u6eaa"), "ggx")        # full-width G, digits
        self.assertEqual(self.ini("Caf\u00e9 \u8d35-\u5e02\uff08\u5317\uff09"), "cafegs")
        self.assertEqual(self.ini("\u5317\u4eac 123 \u00b7"), "")           # unknown chars only
        self.assertEqual(self.ini(""), "")

    def test_names_of_osmium_lines(self):
        lines = [json.dumps({"type": "Feature", "properties": {"name": "\u8d35\u6eaa\u5e02",
                                                               "name:en": "Guixi",
                                                               "place": "city"}}),
                 "\x1e" + json.dumps({"type": "Feature", "properties": {"name": "\u8d35\u6eaa\u5e02",
                                                                      "official_name": "\u957f"}}),
                 ""]
        self.assertEqual(list(pi.names_of(io.StringIO("\n".join(lines)))),
                         ["\u8d35\u6eaa\u5e02", "Guixi", "\u957f"])

    def test_no_dictionary_is_an_error(self):
        with self.assertRaises(OSError):
            pi.load_dicts([os.path.join(self.dir.name, "missing.dict.yaml")])


@unittest.skipUnless(os.path.exists(pi.DEFAULT_DICTS[0]),
                     "rime-data-pinyin-simp is not installed (deploy/setup.sh)")
class RealDictionary(unittest.TestCase):
    def test_real_names(self):
        table = pi.load_dicts(pi.DEFAULT_DICTS)
        for name, want in [("\u8d35\u6eaa\u5e02", "gxs"),                  # 贵溪市
                           ("\u5b81\u5316\u53bf", "nhx"),                  # 宁化县
                           ("\u53d1\u7535\u5382\u793e\u533a", "fdcsq"),    # 发电厂社区
                           ("\u91cd\u5e86", "cq"),                          # 重庆
                           ("\u4e61", "x")]:                                # 乡 (luna: yuan)
            self.assertEqual(pi.initials(name, table), want, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
