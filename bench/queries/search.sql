-- search: $1 is the folded word; the count of all matches and the first 50 by key.
WITH matched AS (
  SELECT id, slug, name, kind, status FROM initiative WHERE search_folded LIKE '%' || $1 || '%'
)
SELECT json_build_object('data', json_build_object('initiatives', json_build_object(
  'totalCount', (SELECT count(*) FROM matched),
  'nodes', (
    SELECT coalesce(json_agg(json_build_object(
      'slug', slug, 'name', name, 'kind', kind, 'status', status
    ) ORDER BY id), '[]')
    FROM (SELECT * FROM matched ORDER BY id LIMIT 50) AS shown
  )
)))::text
