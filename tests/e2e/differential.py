#!/usr/bin/env python3
"""tests/e2e/differential.py: finch-onboard's CSV reading against Python's csv module.

Generates CSV_FILES tricky but legal CSV files from a seed (quotes, doubled
quotes, delimiters and every line end inside quoted cells, CRLF/LF/CR line
ends mixed, blank lines, a missing final line end, ',' ';' or tab, a sep=
line, a UTF-8 BOM, UTF-16, non-ASCII text, white space at the ends, files
that span several reads), imports
each, and asserts that every row's stored fields and source line match what
Python's csv module reads, byte for byte, but for the differences the README
documents: cells are trimmed of Unicode white space, and records whose cells
are all empty are skipped.

Usage: differential.py FINCH_ONBOARD WORKDIR [SEED] [FILES]
"""
import csv
import io
import random
import sqlite3
import subprocess
import sys

FO, WORK = sys.argv[1], sys.argv[2]
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 12
FILES = int(sys.argv[4]) if len(sys.argv) > 4 else 200

# The README's "Unicode white space": White_Space, plus the zero-width U+200B,
# U+200C, U+200D, U+2060 and U+FEFF.
WS = '\t\n\x0b\x0c\r \x85\xa0\u1680' + ''.join(map(chr, range(0x2000, 0x200e))) + \
     '\u2028\u2029\u202f\u205f\u2060\u3000\ufeff'
LINE_ENDS = ['\r\n', '\n', '\r']
PIECES = ['a', 'b', 'Z', '0', '9', ' ', '  ', ',', ';', '\t', '"', '""', "'", '\r\n', '\n', '\r',
          'é', 'Müller', '東京', '🚀', 'שלום', 'e\u0301', '\u00a0', '\u202f', '&', '<', '\\',
          '=', '+', '-', '@', '|', 'sep=;', '#', '%s', '\u2028', '\u200b', '\u2060']
TEXT_COLUMNS = ['customer_name', 'redirect_uri', 'integration_provider']


def cell_text(rng, allow_empty):
    n = rng.randint(0 if allow_empty else 1, 6)
    return ''.join(rng.choice(PIECES) for _ in range(n))


def trimmed(s):
    return s.strip(WS)


def quote(rng, s, delim):
    must = any(c in s for c in ('"', '\r', '\n', delim)) or s.startswith(' ') or s.endswith(' ')
    if must or rng.random() < 0.3:
        return '"' + s.replace('"', '""') + '"'
    return s


def make_file(rng, index):
    delim = rng.choice([',', ',', ';', '\t'])
    columns = ['customer_id', 'products', 'customer_name'] + \
        rng.sample(TEXT_COLUMNS[1:], rng.randint(0, 2))
    rng.shuffle(columns)
    lines = []
    if delim != ',' and rng.random() < 0.2:
        # Excel writes it bare, LibreOffice quoted
        lines.append(('"sep=%s"' if rng.random() < 0.5 else 'sep=%s') % delim)
    lines.append(delim.join(quote(rng, c, delim) if rng.random() < 0.5 else c for c in columns))
    expected = []  # (fields by column, row number in data order)
    used = set()
    # every 25th file spans several 64 KiB reads (a UTF-16 character or a
    # CRLF may then be cut in two by a read)
    for r in range(rng.randint(1, 20) if index % 25 != 24 else 2500):
        if rng.random() < 0.1:
            lines.append('')  # a blank line
        row = {}
        while True:
            cid = trimmed(cell_text(rng, False).replace('\r', '').replace('\n', ''))
            cid = 'id-%d-%d-' % (index, r) + cid
            if cid not in used and len(cid) <= 255:
                break
        used.add(cid)
        row['customer_id'] = cid
        row['products'] = rng.choice(['company', 'company directory', 'directory'])
        for c in columns:
            if c in TEXT_COLUMNS:
                v = cell_text(rng, c != 'customer_name')
                while c == 'customer_name' and not trimmed(v):
                    v = cell_text(rng, False)
                row[c] = v
        cells = [quote(rng, row[c], delim) for c in columns]
        # a spreadsheet's white space around unquoted cells is legal, and trimmed
        lines.append(delim.join(cells))
    ends = [rng.choice(LINE_ENDS) for _ in lines]
    text = ''.join(l + e for l, e in zip(lines, ends))
    if rng.random() < 0.2:
        text = text[:-len(ends[-1])]  # no final line end
    encoding = rng.choice(['utf-8', 'utf-8', 'utf-8', 'utf-8-sig', 'utf-16'])
    return text, encoding, delim, columns


def reference(text, delim, columns):
    """What Python's csv module reads: {customer_id: (fields, start line)}."""
    f = io.StringIO(text, newline='')
    start_line = 1
    if text.startswith('sep=') or text.startswith('"sep='):
        f.readline()
        start_line = 2
    reader = csv.reader(f, delimiter=delim, strict=True)
    header = None
    prev = start_line - 1
    rows = {}
    for rec in reader:
        first = prev + 1
        prev = reader.line_num + start_line - 1
        if not rec or all(not trimmed(c) for c in rec):
            continue
        if header is None:
            header = [trimmed(c) for c in rec]
            assert header == columns, (header, columns)
            continue
        fields = dict(zip(header, (trimmed(c) for c in rec)))
        rows[fields['customer_id']] = (fields, first)
    return rows


def main():
    rng = random.Random(SEED)
    compared = 0
    for i in range(FILES):
        text, encoding, delim, columns = make_file(rng, i)
        path = '%s/d%03d.csv' % (WORK, i)
        db = '%s/d%03d.db' % (WORK, i)
        with open(path, 'wb') as out:
            out.write(text.encode(encoding))
        want = reference(text, delim, columns)
        p = subprocess.run([FO, 'import', path, '--db', db, '--quiet'], capture_output=True)
        if p.returncode != 0:
            sys.exit('FAIL: %s (seed %d): exit %d: %s' % (path, SEED, p.returncode,
                                                        p.stderr.decode(errors='replace')))
        con = sqlite3.connect(db)
        con.text_factory = bytes
        got = {}
        for row in con.execute('SELECT customer_id, customer_name, coalesce(redirect_uri, \'\'), '
                               'coalesce(integration_provider, \'\'), source_line, state '
                               'FROM customers'):
            cid = row[0].decode()
            got[cid] = row
        con.close()
        if set(got) != set(want):
            sys.exit('FAIL: %s (seed %d): ids differ: only stored %r, only read by csv %r' % (
                path, SEED, sorted(set(got) - set(want))[:3], sorted(set(want) - set(got))[:3]))
        for cid, (fields, line) in want.items():
            row = got[cid]
            exp = (cid.encode(), fields['customer_name'].encode(),
                   fields.get('redirect_uri', '').encode(),
                   fields.get('integration_provider', '').encode(), line, b'pending')
            if row != exp:
                sys.exit('FAIL: %s (seed %d): customer %r: stored %r, csv read %r' % (
                    path, SEED, cid, row, exp))
            compared += 1
    print('ok 1 - %d files, %d rows: every stored field and line matches Python\'s csv '
          'module (seed %d)' % (FILES, compared, SEED))


main()
