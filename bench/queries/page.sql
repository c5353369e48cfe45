-- page: the first 50 initiatives by key, one more to know whether there is a next page.
WITH fetched AS (
  SELECT id, slug, name, kind, status FROM initiative ORDER BY id LIMIT 51
), shown AS (
  SELECT * FROM fetched ORDER BY id LIMIT 50
), cursors AS (
  SELECT shown.*, rtrim(translate(encode(convert_to('c1:Initiative:' || id, 'UTF8'), 'base64'), '+/', '-_'), '=') AS cursor
  FROM shown
)
SELECT json_build_object('data', json_build_object('initiatives', json_build_object(
  'pageInfo', json_build_object(
    'hasNextPage', (SELECT count(*) FROM fetched) > 50,
    'endCursor', (SELECT cursor FROM cursors ORDER BY id DESC LIMIT 1)
  ),
  'edges', (
    SELECT coalesce(json_agg(json_build_object(
      'cursor', cursor,
      'node', json_build_object(
        'id', encode(convert_to('Initiative:' || slug, 'UTF8'), 'base64'),
        'slug', slug, 'name', name, 'kind', kind, 'status', status
      )
    ) ORDER BY id), '[]')
    FROM cursors
  )
)))::text
