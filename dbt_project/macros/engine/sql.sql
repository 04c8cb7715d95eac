{#-
  The SQL that DuckDB and Spark write differently, one macro per construct (adapter.dispatch: duckdb__ /
  spark__). Models and the normalisation macros call these, never an engine's own spelling. Spark runs with
  ANSI mode off (dbt-spark sets it): a cast that fails is null, as DuckDB's try_cast; and with
  spark.sql.parser.escapedStringLiterals on (vaxclean/transform/spark.py): a backslash in a string literal is
  itself, as in DuckDB.
  Regular expressions are written in the subset both engines read alike (RE2 / java.util.regex): classes,
  \d \s, anchors, groups; a replacement refers to a group through backreference(n).
-#}

{#- text matches the whole pattern -#}
{% macro matches_fully(text, pattern) -%}
    {{ return(adapter.dispatch('matches_fully', 'vaxclean')(text, pattern)) }}
{%- endmacro %}
{% macro duckdb__matches_fully(text, pattern) -%}
    regexp_full_match({{ text }}, {{ pattern }})
{%- endmacro %}
{% macro spark__matches_fully(text, pattern) -%}
    ({{ text }} rlike concat('^(?:', {{ pattern }}, ')$'))
{%- endmacro %}

{#- the pattern occurs in text -#}
{% macro matches(text, pattern) -%}
    {{ return(adapter.dispatch('matches', 'vaxclean')(text, pattern)) }}
{%- endmacro %}
{% macro duckdb__matches(text, pattern) -%}
    regexp_matches({{ text }}, {{ pattern }})
{%- endmacro %}
{% macro spark__matches(text, pattern) -%}
    ({{ text }} rlike {{ pattern }})
{%- endmacro %}

{#- every occurrence replaced (DuckDB replaces the first one unless told 'g'; Spark every one). A pattern
    anchored at one end has one occurrence: plain regexp_replace reads the same on both. -#}
{% macro regexp_replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'vaxclean')(text, pattern, replacement)) }}
{%- endmacro %}
{% macro duckdb__regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}
{% macro spark__regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- group n of the match, inside a replacement text (Jinja string) -#}
{% macro backreference(n) -%}
    {{ return(adapter.dispatch('backreference', 'vaxclean')(n)) }}
{%- endmacro %}
{% macro duckdb__backreference(n) -%}
    {{ return('\\' ~ n) }}
{%- endmacro %}
{% macro spark__backreference(n) -%}
    {{ return('$' ~ n) }}
{%- endmacro %}

{#- Unicode NFC (a name typed on a Mac arrives decomposed). Spark has no SQL function: ICU4J, which Spark
    carries for its collations, through reflect(). -#}
{% macro nfc(text) -%}
    {{ return(adapter.dispatch('nfc', 'vaxclean')(text)) }}
{%- endmacro %}
{% macro duckdb__nfc(text) -%}
    nfc_normalize({{ text }})
{%- endmacro %}
{% macro spark__nfc(text) -%}
    (case when {{ text }} is not null then reflect('com.ibm.icu.text.Normalizer', 'compose', {{ text }}, false) end)
{%- endmacro %}

{#- diacritics removed (callers map đ/Đ themselves: DuckDB keeps them). Spark: commons-lang3, on its
    class path, through reflect(). -#}
{% macro without_accents(text) -%}
    {{ return(adapter.dispatch('without_accents', 'vaxclean')(text)) }}
{%- endmacro %}
{% macro duckdb__without_accents(text) -%}
    strip_accents({{ text }})
{%- endmacro %}
{% macro spark__without_accents(text) -%}
    (case when {{ text }} is not null then reflect('org.apache.commons.lang3.StringUtils', 'stripAccents', {{ text }}) end)
{%- endmacro %}

{#- a list with `body` (an expression of `var`) applied to each element; the elements for which it holds -#}
{% macro list_map(list, var, body) -%}
    {{ return(adapter.dispatch('list_map', 'vaxclean')(list, var, body)) }}
{%- endmacro %}
{% macro duckdb__list_map(list, var, body) -%}
    list_transform({{ list }}, lambda {{ var }}: {{ body }})
{%- endmacro %}
{% macro spark__list_map(list, var, body) -%}
    transform({{ list }}, {{ var }} -> {{ body }})
{%- endmacro %}

{% macro list_keep(list, var, body) -%}
    {{ return(adapter.dispatch('list_keep', 'vaxclean')(list, var, body)) }}
{%- endmacro %}
{% macro duckdb__list_keep(list, var, body) -%}
    list_filter({{ list }}, lambda {{ var }}: {{ body }})
{%- endmacro %}
{% macro spark__list_keep(list, var, body) -%}
    filter({{ list }}, {{ var }} -> {{ body }})
{%- endmacro %}

{#- the words of a text split on one separator, and back -#}
{% macro split_text(text, separator) -%}
    {{ return(adapter.dispatch('split_text', 'vaxclean')(text, separator)) }}
{%- endmacro %}
{% macro duckdb__split_text(text, separator) -%}
    string_split({{ text }}, {{ separator }})
{%- endmacro %}
{% macro spark__split_text(text, separator) -%}
    split({{ text }}, {{ separator }})
{%- endmacro %}

{% macro join_list(list, separator) -%}
    {{ return(adapter.dispatch('join_list', 'vaxclean')(list, separator)) }}
{%- endmacro %}
{% macro duckdb__join_list(list, separator) -%}
    array_to_string({{ list }}, {{ separator }})
{%- endmacro %}
{% macro spark__join_list(list, separator) -%}
    array_join({{ list }}, {{ separator }})
{%- endmacro %}

{#- a struct from [(name, expression), ...] -#}
{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of', 'vaxclean')(fields)) }}
{%- endmacro %}
{% macro duckdb__struct_of(fields) -%}
    { {%- for name, expression in fields %}'{{ name }}': {{ expression }}{{ ', ' if not loop.last }}{% endfor -%} }
{%- endmacro %}
{% macro spark__struct_of(fields) -%}
    named_struct({%- for name, expression in fields %}'{{ name }}', {{ expression }}{{ ', ' if not loop.last }}{% endfor -%})
{%- endmacro %}

{#- the date of year, month and day given as texts of digits, or null when there is no such day -#}
{% macro date_from_parts(year, month, day) -%}
    {{ return(adapter.dispatch('date_from_parts', 'vaxclean')(year, month, day)) }}
{%- endmacro %}
{% macro duckdb__date_from_parts(year, month, day) -%}
    cast(try_strptime(lpad({{ year }}, 4, '0') || '-' || lpad({{ month }}, 2, '0') || '-' || lpad({{ day }}, 2, '0'), '%Y-%m-%d') as date)
{%- endmacro %}
{% macro spark__date_from_parts(year, month, day) -%}
    make_date(cast({{ year }} as int), cast({{ month }} as int), cast({{ day }} as int))
{%- endmacro %}

{#- a date `days` days after `day` -#}
{% macro days_after(day, days) -%}
    {{ return(adapter.dispatch('days_after', 'vaxclean')(day, days)) }}
{%- endmacro %}
{% macro duckdb__days_after(day, days) -%}
    cast({{ day }} + to_days(cast({{ days }} as integer)) as date)
{%- endmacro %}
{% macro spark__days_after(day, days) -%}
    date_add({{ day }}, cast({{ days }} as int))
{%- endmacro %}

{#- text written yyyy-mm-dd (strictly: two-digit month and day) as a date, else null -#}
{% macro iso_date(text) -%}
    {{ return(adapter.dispatch('iso_date', 'vaxclean')(text)) }}
{%- endmacro %}
{% macro duckdb__iso_date(text) -%}
    cast(try_strptime({{ text }}, '%Y-%m-%d') as date)
{%- endmacro %}
{% macro spark__iso_date(text) -%}
    (case when {{ text }} rlike '^\d{4}-\d{1,2}-\d{1,2}$' then cast({{ text }} as date) end)
{%- endmacro %}

{#- text with a UTC offset or Z as the naive UTC timestamp; text dd/mm/yyyy[ HH:MM[:SS]] as a naive timestamp;
    (a TIMESTAMPTZ column as naive UTC: normalize/timestamps.sql's to_utc_naive) -#}
{% macro utc_of_offset_text(text) -%}
    {{ return(adapter.dispatch('utc_of_offset_text', 'vaxclean')(text)) }}
{%- endmacro %}
{% macro duckdb__utc_of_offset_text(text) -%}
    timezone('UTC', try_cast({{ text }} as timestamptz))
{%- endmacro %}
{% macro spark__utc_of_offset_text(text) -%}
    cast({{ text }} as timestamp)
{%- endmacro %}

{% macro timestamp_dmy(text) -%}
    {{ return(adapter.dispatch('timestamp_dmy', 'vaxclean')(text)) }}
{%- endmacro %}
{% macro duckdb__timestamp_dmy(text) -%}
    coalesce(
        try_strptime({{ text }}, '%d/%m/%Y %H:%M:%S'),
        try_strptime({{ text }}, '%d/%m/%Y %H:%M'),
        try_strptime({{ text }}, '%d/%m/%Y')
    )
{%- endmacro %}
{% macro spark__timestamp_dmy(text) -%}
    coalesce(
        try_to_timestamp({{ text }}, 'd/M/yyyy H:m:s'),
        try_to_timestamp({{ text }}, 'd/M/yyyy H:m'),
        try_to_timestamp({{ text }}, 'd/M/yyyy')
    )
{%- endmacro %}


{#- JSON: one field as text; several fields as a struct of texts, parsed once ({field: 'VARCHAR'}) -#}
{% macro json_text(json, path) -%}
    {{ return(adapter.dispatch('json_text', 'vaxclean')(json, path)) }}
{%- endmacro %}
{% macro duckdb__json_text(json, path) -%}
    json_extract_string({{ json }}, '{{ path }}')
{%- endmacro %}
{% macro spark__json_text(json, path) -%}
    get_json_object({{ json }}, '{{ path }}')
{%- endmacro %}

{% macro json_text_fields(json, fields) -%}
    {{ return(adapter.dispatch('json_text_fields', 'vaxclean')(json, fields)) }}
{%- endmacro %}
{% macro duckdb__json_text_fields(json, fields) -%}
    {%- set shape = {} -%}
    {%- for field in fields %}{% do shape.update({field: 'VARCHAR'}) %}{% endfor -%}
    json_transform({{ json }}, '{{ tojson(shape) }}')
{%- endmacro %}
{% macro spark__json_text_fields(json, fields) -%}
    from_json({{ json }}, '{% for field in fields %}`{{ field }}` string{{ ", " if not loop.last }}{% endfor %}')
{%- endmacro %}

{#- where a row of a raw Parquet table lies: (file, row number), two columns named filename, file_row_number -#}
{% macro file_row_locator() -%}
    {{ return(adapter.dispatch('file_row_locator', 'vaxclean')()) }}
{%- endmacro %}
{% macro duckdb__file_row_locator() -%}
    filename, file_row_number
{%- endmacro %}
{% macro spark__file_row_locator() -%}
    _metadata.file_path as filename, _metadata.row_index as file_row_number
{%- endmacro %}

{#- a CTE's planner hint (DuckDB: `materialized` / `not materialized`; Spark plans CTEs itself) -#}
{% macro cte_hint(hint) -%}
    {{ return(adapter.dispatch('cte_hint', 'vaxclean')(hint)) }}
{%- endmacro %}
{% macro duckdb__cte_hint(hint) -%}
    {{ hint }}
{%- endmacro %}
{% macro spark__cte_hint(hint) -%}
{%- endmacro %}

{#- every column of a relation but these -#}
{% macro star_except(columns) -%}
    {{ return(adapter.dispatch('star_except', 'vaxclean')(columns)) }}
{%- endmacro %}
{% macro duckdb__star_except(columns) -%}
    * exclude ({{ columns | join(', ') }})
{%- endmacro %}
{% macro spark__star_except(columns) -%}
    * except ({{ columns | join(', ') }})
{%- endmacro %}

{#- a value of 64 bits that changes whenever any of the expressions does (a fingerprint, never a key
    compared across engines: DuckDB's hash and Spark's xxhash64 differ) -#}
{% macro fingerprint(expressions) -%}
    {{ return(adapter.dispatch('fingerprint', 'vaxclean')(expressions)) }}
{%- endmacro %}
{% macro duckdb__fingerprint(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}
{% macro spark__fingerprint(expressions) -%}
    xxhash64({{ expressions | join(', ') }})
{%- endmacro %}

{#- a JSON array of objects as a list of structs of texts: json is the array's text (null: empty list) -#}
{% macro json_text_records(json, fields) -%}
    {{ return(adapter.dispatch('json_text_records', 'vaxclean')(json, fields)) }}
{%- endmacro %}
{% macro duckdb__json_text_records(json, fields) -%}
    {%- set shape = {} -%}
    {%- for field in fields %}{% do shape.update({field: 'VARCHAR'}) %}{% endfor -%}
    json_transform(coalesce({{ json }}, '[]'), '[{{ tojson(shape) }}]')
{%- endmacro %}
{% macro spark__json_text_records(json, fields) -%}
    from_json(coalesce({{ json }}, '[]'), 'array<struct<{% for field in fields %}`{{ field }}`: string{{ ", " if not loop.last }}{% endfor %}>>')
{%- endmacro %}

{#- the JSON text at a path (an object or an array as its JSON) -#}
{% macro json_part(json, path) -%}
    {{ return(adapter.dispatch('json_part', 'vaxclean')(json, path)) }}
{%- endmacro %}
{% macro duckdb__json_part(json, path) -%}
    json_extract({{ json }}, '{{ path }}')
{%- endmacro %}
{% macro spark__json_part(json, path) -%}
    get_json_object({{ json }}, '{{ path }}')
{%- endmacro %}

{#- the type of a fingerprint (macros/engine/sql.sql): DuckDB's hash is unsigned, Spark's xxhash64 signed -#}
{% macro fingerprint_type() -%}
    {{ return(adapter.dispatch('fingerprint_type', 'vaxclean')()) }}
{%- endmacro %}
{% macro duckdb__fingerprint_type() -%}
    ubigint
{%- endmacro %}
{% macro spark__fingerprint_type() -%}
    bigint
{%- endmacro %}

{#- a fingerprint of a whole row of the relation `alias` -#}
{% macro row_fingerprint(alias) -%}
    {{ return(adapter.dispatch('row_fingerprint', 'vaxclean')(alias)) }}
{%- endmacro %}
{% macro duckdb__row_fingerprint(alias) -%}
    hash({{ alias }})
{%- endmacro %}
{% macro spark__row_fingerprint(alias) -%}
    xxhash64({{ alias }}.*)
{%- endmacro %}

{#- how many distinct values of expression there are in the window `over` (the text of a window) -#}
{% macro count_distinct_over(expression, over) -%}
    {{ return(adapter.dispatch('count_distinct_over', 'vaxclean')(expression, over)) }}
{%- endmacro %}
{% macro duckdb__count_distinct_over(expression, over) -%}
    count(distinct {{ expression }}) over ({{ over }})
{%- endmacro %}
{% macro spark__count_distinct_over(expression, over) -%}
    size(collect_set({{ expression }}) over ({{ over }}))
{%- endmacro %}

{#- dbt's cast (its contract check casts null to each declared type): the contracts spell types as DuckDB
    does (docs/mart_columns.md); Spark reads varchar as string and T[] as array<T>. -#}
{% macro spark__cast(field, type) -%}
    {%- set spelled = modules.re.sub('\\bvarchar\\b', 'string', type | lower) -%}
    {%- set spelled = modules.re.sub('^(\\w+)\\[\\]$', 'array<\\1>', spelled) -%}
    cast({{ field }} as {{ spelled }})
{%- endmacro %}

{#- the type of a list of texts -#}
{% macro string_list_type() -%}
    {{ return(adapter.dispatch('string_list_type', 'vaxclean')()) }}
{%- endmacro %}
{% macro duckdb__string_list_type() -%}
    string[]
{%- endmacro %}
{% macro spark__string_list_type() -%}
    array<string>
{%- endmacro %}

{#- a list of the expressions (items: a list of SQL texts); the empty list of texts -#}
{% macro list_of(items) -%}
    {{ return(adapter.dispatch('list_of', 'vaxclean')(items)) }}
{%- endmacro %}
{% macro duckdb__list_of(items) -%}
    [{{ items | join(', ') }}]
{%- endmacro %}
{% macro spark__list_of(items) -%}
    array({{ items | join(', ') }})
{%- endmacro %}

{% macro empty_string_list() -%}
    {{ return(adapter.dispatch('empty_string_list', 'vaxclean')()) }}
{%- endmacro %}
{% macro duckdb__empty_string_list() -%}
    cast([] as string[])
{%- endmacro %}
{% macro spark__empty_string_list() -%}
    cast(array() as array<string>)
{%- endmacro %}

{#- aggregates into a list: every non-null value (order unspecified); the distinct non-null values; the values
    ordered by keys (each ascending, nulls last) -#}
{% macro list_agg(value) -%}
    {{ return(adapter.dispatch('list_agg', 'vaxclean')(value)) }}
{%- endmacro %}
{% macro duckdb__list_agg(value) -%}
    list({{ value }}) filter (where {{ value }} is not null)
{%- endmacro %}
{% macro spark__list_agg(value) -%}
    collect_list({{ value }})
{%- endmacro %}

{% macro set_agg(value) -%}
    {{ return(adapter.dispatch('set_agg', 'vaxclean')(value)) }}
{%- endmacro %}
{% macro duckdb__set_agg(value) -%}
    list(distinct {{ value }}) filter (where {{ value }} is not null)
{%- endmacro %}
{% macro spark__set_agg(value) -%}
    collect_set({{ value }})
{%- endmacro %}

{% macro ordered_list_agg(value, keys) -%}
    {{ return(adapter.dispatch('ordered_list_agg', 'vaxclean')(value, keys)) }}
{%- endmacro %}
{% macro duckdb__ordered_list_agg(value, keys) -%}
    list({{ value }} order by {% for key in keys %}{{ key }} nulls last{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
{% macro spark__ordered_list_agg(value, keys) -%}
    transform(array_sort(collect_list(named_struct(
        {%- for key in keys %}'n{{ loop.index }}', {{ key }} is null, 'k{{ loop.index }}', {{ key }}, {% endfor -%}
        'v', {{ value }}))), s -> s.v)
{%- endmacro %}

{#- the first / last element of a list (null when empty) -#}
{% macro list_first(list) -%}
    {{ return(adapter.dispatch('list_first', 'vaxclean')(list)) }}
{%- endmacro %}
{% macro duckdb__list_first(list) -%}
    ({{ list }})[1]
{%- endmacro %}
{% macro spark__list_first(list) -%}
    try_element_at({{ list }}, 1)
{%- endmacro %}

{% macro list_last(list) -%}
    {{ return(adapter.dispatch('list_last', 'vaxclean')(list)) }}
{%- endmacro %}
{% macro duckdb__list_last(list) -%}
    ({{ list }})[-1]
{%- endmacro %}
{% macro spark__list_last(list) -%}
    try_element_at({{ list }}, -1)
{%- endmacro %}

{#- two lists share an element -#}
{% macro lists_overlap(a, b) -%}
    {{ return(adapter.dispatch('lists_overlap', 'vaxclean')(a, b)) }}
{%- endmacro %}
{% macro duckdb__lists_overlap(a, b) -%}
    list_has_any({{ a }}, {{ b }})
{%- endmacro %}
{% macro spark__lists_overlap(a, b) -%}
    coalesce(arrays_overlap({{ a }}, {{ b }}), false)
{%- endmacro %}

{#- one row per element of the list (in a select list) -#}
{% macro explode_list(list) -%}
    {{ return(adapter.dispatch('explode_list', 'vaxclean')(list)) }}
{%- endmacro %}
{% macro duckdb__explode_list(list) -%}
    unnest({{ list }})
{%- endmacro %}
{% macro spark__explode_list(list) -%}
    explode({{ list }})
{%- endmacro %}

{#- days from start to end (calendar days: date boundaries crossed, as DuckDB's date_diff('day', ...)) -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'vaxclean')(start, end)) }}
{%- endmacro %}
{% macro duckdb__days_between(start, end) -%}
    date_diff('day', {{ start }}, {{ end }})
{%- endmacro %}
{% macro spark__days_between(start, end) -%}
    datediff({{ end }}, {{ start }})
{%- endmacro %}

{#- a timestamp `days` days later -#}
{% macro add_days_ts(ts, days) -%}
    {{ return(adapter.dispatch('add_days_ts', 'vaxclean')(ts, days)) }}
{%- endmacro %}
{% macro duckdb__add_days_ts(ts, days) -%}
    ({{ ts }} + to_days(cast({{ days }} as integer)))
{%- endmacro %}
{% macro spark__add_days_ts(ts, days) -%}
    ({{ ts }} + make_dt_interval(cast({{ days }} as int)))
{%- endmacro %}

{#- the days from first to last, one row each, as `as_of_date` (in a select list; none when first > last) -#}
{% macro date_series(first, last) -%}
    {{ return(adapter.dispatch('date_series', 'vaxclean')(first, last)) }}
{%- endmacro %}
{% macro duckdb__date_series(first, last) -%}
    unnest({{ list_map("generate_series(cast(" ~ first ~ " as date), cast(" ~ last ~ " as date), interval 1 day)", 'd', 'cast(d as date)') }})
{%- endmacro %}
{% macro spark__date_series(first, last) -%}
    explode(case when cast({{ first }} as date) <= cast({{ last }} as date)
        then sequence(cast({{ first }} as date), cast({{ last }} as date), interval 1 day) end)
{%- endmacro %}


{#- Jaro-Winkler similarity as DuckDB computes it (Spark's own finds the matching characters differently:
    vaxclean.linkage.similarity, registered in the session by vaxclean.transform.spark) -#}
{% macro jaro_winkler(a, b) -%}
    {{ return(adapter.dispatch('jaro_winkler', 'vaxclean')(a, b)) }}
{%- endmacro %}
{% macro duckdb__jaro_winkler(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}
{% macro spark__jaro_winkler(a, b) -%}
    vaxclean_jaro_winkler({{ a }}, {{ b }})
{%- endmacro %}

{#- the non-null of several code expressions (`codes`: their SQL, comma-separated), as a list: a row's issues or
    evidence -#}
{% macro present_codes(codes) -%}
    {{ list_keep(list_of([codes]), 'code', 'code is not null') }}
{%- endmacro %}
