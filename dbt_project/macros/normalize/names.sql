{#-
  Vietnamese personal names.

  normalize_name: NFC, trim, collapse spaces, one tone-mark convention, title case.
  The convention is the "old" one used by the National Population Database: in an open
  syllable ending in oa / oe / uy the tone mark sits on the first vowel (hòa, khỏe, thủy),
  so the "new" placements (hoà, khoẻ, thuỷ) are rewritten. A closed syllable (hoàng, toán,
  huỳnh) is the same in both conventions and is left alone; so is qu + y (quý: u belongs
  to the consonant).

  name_key: the match key: normalised name, lower case, no diacritics, đ -> d.
-#}

{% macro _tone_placement(word) -%}
    {%- set tones = [('à', 'ò', 'ù'), ('á', 'ó', 'ú'), ('ả', 'ỏ', 'ủ'), ('ã', 'õ', 'ũ'), ('ạ', 'ọ', 'ụ')] -%}
    {%- set e_tones = {'à': 'è', 'á': 'é', 'ả': 'ẻ', 'ã': 'ẽ', 'ạ': 'ẹ'} -%}
    {%- set y_tones = {'à': 'ỳ', 'á': 'ý', 'ả': 'ỷ', 'ã': 'ỹ', 'ạ': 'ỵ'} -%}
    {%- set ns = namespace(expr=word) -%}
    {%- for a_tone, o_tone, u_tone in tones -%}
        {%- set ns.expr = "regexp_replace(" ~ ns.expr ~ ", 'o" ~ a_tone ~ "$', '" ~ o_tone ~ "a')" -%}
        {%- set ns.expr = "regexp_replace(" ~ ns.expr ~ ", 'o" ~ e_tones[a_tone] ~ "$', '" ~ o_tone ~ "e')" -%}
        {%- set ns.expr = "regexp_replace(" ~ ns.expr ~ ", '(^|[^q])u" ~ y_tones[a_tone] ~ "$', '" ~ backreference(1) ~ u_tone ~ "y')" -%}
    {%- endfor -%}
    {{ ns.expr }}
{%- endmacro %}

{#-
  Only a word ending in o + tone-marked a/e, or in u + tone-marked y, can change in _tone_placement (and at
  most once: the rewritten ending matches no other rule), so the 15 rewrites run behind one test; the
  placement is computed once per word, then the word is title-cased.
-#}
{% macro normalize_name(column) -%}
    nullif(
        {{ join_list(
            list_map(
                list_map(
                    split_text("lower(" ~ regexp_replace_all("trim(" ~ nfc("cast(" ~ column ~ " as string)") ~ ")", "'\\s+'", "' '") ~ ")", "' '"),
                    'w',
                    "case when " ~ matches('w', "'(o[àáảãạèéẻẽẹ]|u[ỳýỷỹỵ])$'") ~ " then " ~ _tone_placement('w') ~ " else w end"
                ),
                'w',
                "upper(left(w, 1)) || substr(w, 2)"
            ),
            "' '"
        ) }},
        ''
    )
{%- endmacro %}

{% macro name_key(normalized_name_column) -%}
    nullif(
        {{ regexp_replace_all(
            "lower(" ~ without_accents("replace(replace(" ~ normalized_name_column ~ ", 'đ', 'd'), 'Đ', 'D')") ~ ")",
            "'[^a-z ]'", "''") }},
        ''
    )
{%- endmacro %}


{#- SQL: two name keys name the same person allowing for typing (identity resolution's `is_name_close`:
    equal, Jaro-Winkler >= 0.9, or at most two edits). -#}
{% macro names_close(a, b) -%}
    ({{ a }} = {{ b }} or {{ jaro_winkler(a, b) }} >= 0.9 or damerau_levenshtein({{ a }}, {{ b }}) <= 2)
{%- endmacro %}
