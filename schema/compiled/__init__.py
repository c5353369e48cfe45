"""Compiled reads (issue #3): query root fields answered by one SQL statement each, JSON built in the database.

docs
----
:class:`CompiledReads` (a Strawberry ``SchemaExtension``, after ``QueryCost``) looks at each root field of a
``query`` operation before execution. A root field compiles when every selected field (through fragments and
inline fragments, ``__typename`` included) has a mapping onto columns and relations:

- ``municipalities``, ``initiatives``, ``organizations``, ``involvements`` (every filter, ``first``,
  ``after``), with ``totalCount``, ``pageInfo``, ``edges { cursor node }``, ``nodes``;
- ``municipality(code:)``, ``initiative(slug:)``, ``organization(slug:)``, ``node(id:)`` for Municipality,
  Initiative, Organization and Involvement;
- their scalar fields (ids as relay GlobalIDs, enums, ``Date``, ``DateTime`` as Python's ``isoformat``),
  ``Municipality.active(on:)``, ``Initiative.crossOverThemes``, nested ``involvements(first, after, filter)``
  (keyset page per parent: ``row_number()`` over a correlated subquery) and ``Involvement.initiative`` /
  ``participant`` (a CASE on the participant's type).

The plan (schema.compiled.plan) is cached per (document, operation, response key); the statement
(schema.compiled.sql) per plan, dialect and argument shape, with every value a bound parameter. It is one
``SELECT`` that returns the field's JSON as text: ``json_build_object``/``json_agg`` on PostgreSQL,
``json_object``/``json_group_array`` on SQLite (base64 for ids and cursors through two deterministic
functions registered on each pooled SQLite connection). The text goes into the response as an
``orjson.Fragment``, never parsed into Python objects.

What falls back to the resolvers, a whole root field at a time, and why:

- fields without a mapping (``sources``, ``regions``, ``predecessors``, ``formedBy``, ``reportedFigures``,
  ``members``, ``fusions``, ``dataset``, ``changes``, ``nodes``, ``_entities``, ``boundary``, ...), and
  ``involvements(includePredecessors: true)`` (a graph walk in Python);
  not mapped yet (issue #15 item 1 is open for them). What staying off costs, as measured in issue #15
  (PostgreSQL, 2 workers, varied variables): ``municipality { involvements(includePredecessors: true) }``
  101 req/s, 0.07x the same page without predecessors; the provenance page (an initiative, 30 involvements
  with participant, ``sources { quote document { title } }``) 68 req/s, 0.09x PostGraphile. Each is to
  compile only with the generated differential test (tests/test_differential.py) covering it, the way every
  mapped field is covered now (``compiled_surface`` there);
- ``municipality(name:)`` (its tie-breaking between current and dissolved namesakes lives in Python);
- directives other than ``@include``/``@skip``. Those two compile (by literal or variable, on fields,
  inline fragments and spreads): the plan is made for the request's outcomes of the document's directives
  and cached by them. Such a document is not a prepared read (schema/compiled/prepared.py holds plans that
  must fit any variables): its repeats go through the pipeline and compile there. Measured cost: one walk of
  the document per text (cached) and one evaluation per directive per request;
- arguments the resolvers answer with an error (``first`` out of range, a bad cursor, a bad code, an empty
  folded search, ...): checked in Python before compiling, so that the resolvers produce the exact error;
- lookups that find nothing (an unknown code or slug in a filter, ``municipality(code:)`` of no
  municipality): the statement returns NULL and the resolvers answer, with their NOT_FOUND/BAD_USER_INPUT;
- mutations, subscriptions, operations already refused (cost, rate limit) or with pre-execution errors, and
  ``require_token_for_reads`` without a token (the resolvers' permission error);
- on SQLite, a statement its parser cannot take (nesting beyond its fixed parser stack, e.g. two levels of
  ``participant { ... on Municipality { involvements ...``): checked once per statement shape by preparing
  it in an in-memory database with the app's tables (``sql.sqlite_parses``), measured in its docstring.

``veerkracht_compiled_fallbacks_total{reason}`` counts each fallback: ``unmapped`` (the cases above that
are documented as not compiled), ``resolver_error`` (arguments or lookups the resolvers answer with their
error) and ``statement_failed`` (the database failed a compiled statement: logged with the error and the
statement, counted on ``CompiledRunner.failed_statements``; a bug or an outage, never expected).

Compiled answers equal the resolvers' (issue #15): tests/test_differential.py sends documents from a seeded
generator written for this schema (tests/differential.py: fragments on every interface and union, aliases,
variables with defaults, cursors from earlier answers, filters with unknown keys, partial ``pageInfo``,
nested and deep pages) to both paths on both databases, first request and prepared repeat, and checks that
no statement fails and that every field, argument and filter key above is used.

The fields that do not compile run through Strawberry on a copy of the document whose operation keeps only
them; the compiled Fragments are put back in the original root-field order afterwards. When every root
field compiled, ``execution_context.result`` is set before execution, which Strawberry then skips.
``veerkracht_compiled_root_fields_total{result="compiled"|"fallback"}`` counts both.

Measured (200 sequential requests through httpx.ASGITransport, response cache off, the benchmark's
``municipalities(first: 20) { edges { node { ... involvements(first: 5) { nodes { ... initiative {...}
participant {...} } } } } }``, seeded dataset, one process): PostgreSQL 15, 4-8 ms per request compiled
against 33-39 ms through the resolvers (1 statement against 7); SQLite, 3.7 ms against 34 ms. Most of the
resolver path's time is building and serialising Python objects per field, which the compiled path skips.
"""

from schema.compiled.extension import CompiledReads

__all__ = ["CompiledReads"]
