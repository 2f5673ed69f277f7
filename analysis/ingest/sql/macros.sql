-- Parsing macros for the staging layer. Created as TEMP macros on each ingest connection.
-- Each parser returns NULL for text it cannot read; the staging SQL turns a NULL from a non-blank
-- input into a quarantine reason that names the field. None of them can raise.

-- A value that is really "nothing": blank, or a spreadsheet's null marker; else the value
-- trimmed (trim() removes the Unicode space separators, not tabs or newlines).
-- Fast path, most values: pure ASCII (byte length = character length), starting with none of
-- '', ' ', '#', 'n', 'N' (how a marker or padding starts) and not ending in ' ': trim() would
-- change nothing and no marker starts that way, so the value is returned as it is, without
-- copying it twice (trim, lower) as the general path below does.
CREATE OR REPLACE TEMP MACRO ta_blank(s) AS
    CASE WHEN ascii(s) NOT IN (0, 32, 35, 78, 110) AND NOT ends_with(s, ' ') AND strlen(s) = length(s)
         THEN s
         -- (the length test keeps lower() and the list off the long, ordinary values)
         WHEN length(s) < 12 AND lower(trim(s)) IN ('', 'null', 'nan', 'n/a', '#n/a', 'nat') THEN NULL
         ELSE trim(s) END;

-- The lookup key of a vocabulary value: lower case, runs of non-alphanumerics as one space.
CREATE OR REPLACE TEMP MACRO ta_key(s) AS
    trim(regexp_replace(lower(coalesce(s, '')), '[^\p{L}\p{N}]+', ' ', 'g'));

-- The currency an amount's text carries ('$12,500.00' -> USD, '12,500 EUR' -> EUR), or NULL.
-- Bare '$' is taken as US dollars and bare '¥' as Chinese yuan (the platform's suppliers' currency).
-- Two fast paths (exactly what the full chain gives, with fewer regexes per value): with no
-- letter, '¥', '￥' or '元' in upper(s), only the symbol tests at the end can match; with no
-- '$', '¥', '￥', '元' or 'RMB', the prefixed-dollar and yuan tests cannot.
CREATE OR REPLACE TEMP MACRO ta_amount_currency(s) AS
    CASE
        WHEN s IS NULL OR NOT regexp_matches(s, '[^0-9.,\s()+-]') THEN NULL
        WHEN NOT regexp_matches(upper(s), '[A-Z¥￥元]') THEN
            CASE WHEN contains(s, '$') THEN 'USD' WHEN contains(s, '€') THEN 'EUR'
                 WHEN contains(s, '£') THEN 'GBP' WHEN contains(s, '₹') THEN 'INR'
                 WHEN contains(s, '₩') THEN 'KRW' WHEN contains(s, '₺') THEN 'TRY' END
        WHEN NOT regexp_matches(upper(s), '[$¥￥元]|RMB') THEN
            CASE WHEN regexp_matches(upper(s), '[A-Z]{3}') THEN regexp_extract(upper(s), '([A-Z]{3})', 1)
                 WHEN contains(s, '€') THEN 'EUR' WHEN contains(s, '£') THEN 'GBP'
                 WHEN contains(s, '₹') THEN 'INR' WHEN contains(s, '₩') THEN 'KRW'
                 WHEN contains(s, '₺') THEN 'TRY' END
        -- dollar prefixes, each as a whole word ('US$' is not 'S$', 'CA$' is not 'A$')
        WHEN regexp_matches(upper(s), '(^|[^A-Z])US\$') THEN 'USD'
        WHEN regexp_matches(upper(s), '(^|[^A-Z])HK\$') THEN 'HKD'
        WHEN regexp_matches(upper(s), '(^|[^A-Z])(AU|A)\$') THEN 'AUD'
        WHEN regexp_matches(upper(s), '(^|[^A-Z])(CA|C)\$') THEN 'CAD'
        WHEN regexp_matches(upper(s), '(^|[^A-Z])NZ\$') THEN 'NZD'
        WHEN regexp_matches(upper(s), '(^|[^A-Z])S\$') THEN 'SGD'
        WHEN regexp_matches(upper(s), '(^|[^A-Z])R\$') THEN 'BRL'
        WHEN regexp_matches(upper(s), 'JP¥') THEN 'JPY'
        WHEN regexp_matches(upper(s), 'RMB|CN¥|[¥￥元]') THEN 'CNY'
        WHEN regexp_matches(upper(s), '[A-Z]{3}') THEN regexp_extract(upper(s), '([A-Z]{3})', 1)
        WHEN regexp_matches(s, '\$') THEN 'USD'
        WHEN regexp_matches(s, '€') THEN 'EUR'
        WHEN regexp_matches(s, '£') THEN 'GBP'
        WHEN regexp_matches(s, '₹') THEN 'INR'
        WHEN regexp_matches(s, '₩') THEN 'KRW'
        WHEN regexp_matches(s, '₺') THEN 'TRY'
        ELSE NULL END;

-- The common shapes of an amount, split by one regular expression: an optional code ('USD ') or
-- symbol ('$', '€', '£') before the number, an optional code after it, and the number, unsigned
-- (digits, '.' and ','). A group is '' when absent; a text of any other shape gives '' in every
-- group. (Few groups and no alternatives inside the number keep the match cheap: a regex with a
-- group per number form cost four times as much.)
CREATE OR REPLACE TEMP MACRO ta_amount_parts(s) AS
    regexp_extract(s, '^(?:([A-Z]{3}) ?|([$€£]))?([0-9.,]+)(?: ?([A-Z]{3}))?$',
                   ['code', 'symbol', 'number', 'code_after']);

-- The castable number of ta_amount_parts when the fast path reads the text exactly as the full
-- parser (ta_amount, ta_amount_currency) does, else NULL: the number in one of the four forms
-- the full parser reads ('12500.5', '12,500.00', '1.234,56', '400,50'), at most one currency
-- mark, and not 'RMB' (a code the full parser reads as CNY). Checked against the full parser
-- (tests/test_parsers_property.py).
CREATE OR REPLACE TEMP MACRO ta_amount_parts_text(p) AS
    CASE WHEN (p.code <> '')::INT + (p.symbol <> '')::INT + (p.code_after <> '')::INT > 1
              OR p.code = 'RMB' OR p.code_after = 'RMB' THEN NULL
         WHEN regexp_full_match(p.number, '\d+(\.\d{1,2})?') THEN p.number
         WHEN regexp_full_match(p.number, '[1-9]\d{0,2}(,\d{3})+(\.\d{1,2})?') THEN replace(p.number, ',', '')
         WHEN regexp_full_match(p.number, '[1-9]\d{0,2}(\.\d{3})+(,\d{1,2})?')
         THEN replace(replace(p.number, '.', ''), ',', '.')
         WHEN regexp_full_match(p.number, '\d+,\d{1,2}') THEN replace(p.number, ',', '.') END;

-- The currency of parts the fast path reads (as ta_amount_currency gives it), NULL for a bare number.
CREATE OR REPLACE TEMP MACRO ta_amount_parts_currency(p) AS
    CASE WHEN p.symbol = '$' THEN 'USD' WHEN p.symbol = '€' THEN 'EUR' WHEN p.symbol = '£' THEN 'GBP'
         WHEN p.code <> '' THEN p.code WHEN p.code_after <> '' THEN p.code_after END;

-- An amount's text without currency marks and spaces: '€ 1.234,56' -> '1.234,56'.
CREATE OR REPLACE TEMP MACRO ta_amount_stripped(s) AS
    regexp_replace(upper(trim(s)),
        '(HK|AU|CA|NZ|US|A|C|S|R)?\$|JP¥|CN¥|RMB|[A-Z]{3}|[€£¥￥元₹₩₺]|[\s\x{00A0}\x{202F}'']', '', 'g');

-- The unsigned number of a stripped amount, made castable ('1.234,56' -> '1234.56'), or NULL.
-- Separators: '12,500.00', '1.234,56' and '1 234,56' are thousands + decimal; a lone comma
-- followed by one or two digits is a decimal comma ('400,50'); a lone separator followed by
-- exactly three digits is a thousands separator ('12,500', '1.234'), since money has two decimals.
CREATE OR REPLACE TEMP MACRO ta_amount_unsigned(core) AS
    CASE
        WHEN regexp_full_match(core, '\d+(\.\d{1,2}|\.\d{4,})?') THEN core
        WHEN regexp_full_match(core, '[1-9]\d{0,2}(,\d{3})+(\.\d+)?') THEN replace(core, ',', '')
        WHEN regexp_full_match(core, '[1-9]\d{0,2}(\.\d{3})+(,\d+)?') THEN replace(replace(core, '.', ''), ',', '.')
        WHEN regexp_full_match(core, '\d+\.\d{3}') THEN core
        WHEN regexp_full_match(core, '\d+,\d{1,2}') THEN replace(core, ',', '.')
        ELSE NULL END;

-- The amount of a stripped text as the stored amount type (columns.AMOUNT_TYPE: three decimals,
-- never rounded to the cent), negative when written with '-' or in
-- parentheses; NULL if unreadable. Plain numbers ('12500', '12500.5') take the direct path.
CREATE OR REPLACE TEMP MACRO ta_amount_of_stripped(t) AS
    try_cast(
        CASE WHEN regexp_full_match(t, '-?\d+(\.\d{1,2})?') THEN t
             WHEN regexp_full_match(t, '[-(]?[0-9.,]+\)?')
             THEN CASE WHEN starts_with(t, '-') OR starts_with(t, '(') THEN '-' ELSE '' END
                  || ta_amount_unsigned(trim(t, '-()'))
        END AS {{ amount_type }});

-- An amount as a reason shows it: two decimals, three where the third is not zero ('1000.00',
-- '12.345').
CREATE OR REPLACE TEMP MACRO ta_amount_shown(x) AS
    CASE WHEN x = round(x, 2) THEN x::DECIMAL(18, 2)::VARCHAR ELSE x::VARCHAR END;

-- The amount in an amount's text ('€1.234,56' -> 1234.56); NULL if unreadable.
CREATE OR REPLACE TEMP MACRO ta_amount(s) AS ta_amount_of_stripped(ta_amount_stripped(s));

-- A date's text with a two-digit year written out: the last number of a text whose numbers
-- are all one or two digits long, after a separator, is a year of this century ('05/03/25' ->
-- '05/03/2025', '5-Mar-25' -> '5-Mar-2025', 'Mar 5, 25' -> 'Mar 5, 2025'). Without this, strptime's
-- %Y reads '25' as the year 25 (docs/data-dictionary.md, Dates).
CREATE OR REPLACE TEMP MACRO ta_date_text(s) AS
    CASE WHEN regexp_matches(s, '[/.\-, ]\d{2}$') AND NOT regexp_matches(s, '\d{3}')
         THEN regexp_replace(s, '(\d{2})$', '20\1') ELSE s END;

-- A date parsed with a declared format, its two-digit year read as 20yy: '%y' years are
-- 2000-2099 (strptime's own pivot reads 69-99 as 19yy), and a '%Y' that met one or two digits
-- (no run of three digits in the text) gave a year below 100, taken as 20yy too. A year
-- written with four digits is never moved ('0025' stays the year 25, and is quarantined).
-- (Years y and 2000 + y, and 1900 + y and 2000 + y, have the same leap days for 0 <= y < 100.)
CREATE OR REPLACE TEMP MACRO ta_date_century(d, s, declared) AS
    CASE WHEN contains(declared, '%y') THEN (d + to_years(2000 + year(d) % 100 - year(d)))::DATE
         WHEN year(d) < 100 AND NOT regexp_matches(s, '\d{3}') THEN (d + to_years(2000))::DATE
         ELSE d END;

-- ta_date without the declared format, over a trimmed text whose year is written out.
CREATE OR REPLACE TEMP MACRO ta_date_forms(t, declared, dayfirst) AS
    coalesce(
        -- ISO dates, and ISO timestamps (the date part: a tracker's clock time is not the dispute's day)
        try_cast(CASE WHEN regexp_full_match(t, '\d{4}-\d{2}-\d{2}([T ].*)?') THEN substr(t, 1, 10) END AS DATE),
        try_strptime(t, ['%Y/%m/%d', '%Y.%m.%d', '%Y-%m-%d', '%d %b %Y', '%d %B %Y', '%b %d, %Y',
                         '%B %d, %Y', '%b %d %Y', '%B %d %Y', '%d-%b-%Y', '%d %b, %Y'])::DATE,
        CASE WHEN declared IS NULL AND regexp_full_match(t, '\d{1,2}[/.-]\d{1,2}[/.-]\d{4}') THEN
            CASE WHEN dayfirst THEN try_strptime(regexp_replace(t, '[.-]', '/', 'g'), '%d/%m/%Y')::DATE
                 WHEN NOT dayfirst THEN try_strptime(regexp_replace(t, '[.-]', '/', 'g'), '%m/%d/%Y')::DATE
                 WHEN regexp_extract(t, '^(\d{1,2})', 1)::INT > 12
                   OR regexp_extract(t, '^(\d{1,2})', 1) = regexp_extract(t, '^\d{1,2}[/.-](\d{1,2})', 1)
                 THEN try_strptime(regexp_replace(t, '[.-]', '/', 'g'), '%d/%m/%Y')::DATE
                 WHEN regexp_extract(t, '^\d{1,2}[/.-](\d{1,2})', 1)::INT > 12
                 THEN try_strptime(regexp_replace(t, '[.-]', '/', 'g'), '%m/%d/%Y')::DATE
            END
        END);

-- A date in one of the accepted forms; a numeric d/m/y or m/d/y date only when the order is
-- unambiguous (one part above 12, or both parts equal) unless a format is declared. A declared
-- format is tried first; the ISO and month-name forms are read either way. A two-digit year is
-- 20yy (ta_date_text, ta_date_century).
-- dayfirst: the order of a numeric d/m/y date the file's column showed (NULL: decide per value)
CREATE OR REPLACE TEMP MACRO ta_date(s, declared, dayfirst := NULL) AS
    coalesce(
        CASE WHEN declared IS NOT NULL
             THEN ta_date_century(try_strptime(trim(s), declared)::DATE, trim(s), declared) END,
        ta_date_forms(ta_date_text(trim(s)), declared, dayfirst));

-- Why ta_date gave NULL for a non-blank value.
CREATE OR REPLACE TEMP MACRO ta_date_problem(s, declared, dayfirst := NULL) AS
    CASE WHEN declared IS NULL AND dayfirst IS NULL
              AND regexp_full_match(ta_date_text(trim(s)), '\d{1,2}[/.-]\d{1,2}[/.-]\d{4}')
              AND regexp_extract(trim(s), '^(\d{1,2})', 1)::INT <= 12
              AND regexp_extract(trim(s), '^\d{1,2}[/.-](\d{1,2})', 1)::INT <= 12
         THEN 'ambiguous day/month order; declare date_format in a --mapping file'
         ELSE 'not a date' END;

-- E-mail addresses and phone numbers in free text (description, every kept extra value) replaced
-- by '[email hidden]' and '[phone hidden]' as the file is loaded (analysis/ingest/personal.py).
-- The rule of the reports' masking (analysis/report/privacy.py), written for RE2, which has no
-- look-around: an e-mail is local@domain.tld; a phone number is a run of digits and the
-- separators phone numbers use (space . - / ( )), optionally led by + or 00, not glued to a
-- word before or after it, with at least 9 digits (7 when led by + or 00); ISO dates
-- (2026-10-01) and amounts with two decimals (1234567.89) are never part of one. Identifiers
-- (case_id, order_id, supplier_id) are never passed through it.
-- (The characters of an address glued after one are kept as they are and skipped, as the
-- reports' look-behind skips them: 'a@b.cnc+d@e.cn' is one address and a remainder.)
CREATE OR REPLACE TEMP MACRO ta_mask_emails(s) AS
    CASE WHEN contains(s, '@')
         THEN regexp_replace(s,
                '[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}([A-Za-z0-9._%+\-]*)',
                '[email hidden]\1', 'g')
         ELSE s END;

-- The tokens of a text (below) put back together, each number that is a phone number hidden. In
-- a number's token (core: the number, '' in any other token), the number ends at the last digit
-- of its run (and a closing parenthesis right after it); the character after it, which the
-- token holds when it is part of a word, tells whether it is glued to a word ('ORD5551234567x'
-- is a reference, not a phone number). Letters and digits are those of any script, as Python's
-- \w and \d are (a phone number typed in full-width digits is one too).
CREATE OR REPLACE TEMP MACRO ta_phone_core(t) AS
    regexp_extract(regexp_extract(t, '^(?:\+|00)?\(?\p{Nd}[\p{Nd}().\-/ ]*'), '^.*\p{Nd}\)?');
CREATE OR REPLACE TEMP MACRO ta_phone_token(t, core) AS
    CASE
        WHEN core = ''
          OR regexp_full_match(t, '(?s)\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2}(?:[^\p{L}\p{N}_\-].*)?')
          OR regexp_full_match(t, '(?s)\p{Nd}+\.\p{Nd}{2}(?:[^\p{L}\p{N}_.\-].*)?')
          OR regexp_matches(t[length(core) + 1:length(core) + 1], '[\p{L}\p{N}_@]') THEN t
        WHEN length(regexp_replace(core, '\P{Nd}', '', 'g'))
             >= CASE WHEN regexp_matches(core, '^(?:\+|00)') THEN 7 ELSE 9 END
        THEN '[phone hidden]' || t[length(core) + 1:]
        ELSE t
    END;
-- (Each value is worked out once and passed on as a lambda's parameter: a macro's parameter is
-- copied where it is used, and would be computed again at each use.)
CREATE OR REPLACE TEMP MACRO ta_phone_tokens(toks) AS
    array_to_string(list_transform(list_transform(toks, lambda t: [t, ta_phone_core(t)]),
                                   lambda z: ta_phone_token(z[1], z[2])), '');

-- Whether a text may hold a phone number (a run of 7 digits), or any contact detail. The ingest
-- masks only the distinct texts that may (analysis/ingest/load.py, contact_masks): the lambdas
-- below cost something for every batch of rows they see, however few of its rows they work on.
CREATE OR REPLACE TEMP MACRO ta_may_hold_phone(s) AS regexp_matches(s, '\p{Nd}(?:[().\-/ ]*\p{Nd}){6}');
CREATE OR REPLACE TEMP MACRO ta_may_hold_contacts(s) AS contains(s, '@') OR ta_may_hold_phone(s);

-- Phone numbers hidden. Fast path: a text without a run of 7 digits holds none. Otherwise it is
-- cut into tokens that cover it whole, tried in this order at each position:
--   an ISO date or an amount, with the character after it (which must not continue it; when it
--     is one of . / + @, the rest of that word too, and an opening parenthesis right after it);
--   a number: a run of digits and separators led by + or 00, up to its last digit, dot, dash or
--     slash; then a closing parenthesis, or the rest of a word glued to it (and an opening
--     parenthesis right after that); after a closing parenthesis, a word glued to it;
--   text where no number can start: words that start with no digit and no + (letters, digits
--     and . - / + @, with an opening parenthesis right after one) and characters that are no
--     part of a word (but an opening parenthesis), as many as follow each other: a number
--     inside a word is never a phone number;
--   any other word, or any other character.
-- So a token starts only where the reports' look-behind lets a number start: at the start, or
-- after a character that is no part of a word.
CREATE OR REPLACE TEMP MACRO ta_mask_phones(s) AS
    CASE WHEN s IS NULL OR NOT ta_may_hold_phone(s) THEN s
         ELSE ta_phone_tokens(regexp_extract_all(s,
            '(?s)\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2}(?:[./+@][\p{L}\p{N}_.\-/+@]*\(?|[^\p{L}\p{N}_.\-/+@]|$)'
            || '|\p{Nd}+\.\p{Nd}{2}(?:[/+@][\p{L}\p{N}_.\-/+@]*\(?|[^\p{L}\p{N}_.\-/+@]|$)'
            || '|(?:\+|00)?\(?\p{Nd}(?:[\p{Nd}().\-/ ]*[\p{Nd}.\-/])?'
            || '(?:\)(?:[\p{L}\p{N}_@][\p{L}\p{N}_.\-/+@]*\(?)?|[\p{L}\p{N}_.\-/+@]*\(?)'
            || '|(?:[\p{L}_.\-/@][\p{L}\p{N}_.\-/+@]*\(?|[^\p{L}\p{N}_.\-/+@(])+'
            || '|[\p{L}\p{N}_.\-/+@]+\(?|.'))
    END;

CREATE OR REPLACE TEMP MACRO ta_mask_contacts(s) AS ta_mask_phones(ta_mask_emails(s));
