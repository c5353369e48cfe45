-- node: $1 is the global id as sent, $2 the slug inside it (an Initiative's global id names its slug).
SELECT json_build_object('data', json_build_object('node', (
  SELECT json_build_object(
    'id', $1::text, 'slug', slug, 'name', name, 'kind', kind, 'status', status,
    'summary', summary, 'updatedAt', updated_at
  )
  FROM initiative WHERE slug = $2
)))::text
