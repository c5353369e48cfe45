-- initiative: $1 is the slug; its first 30 involvements by key, each with the participant's name.
SELECT json_build_object('data', json_build_object('initiative', (
  SELECT json_build_object(
    'slug', i.slug, 'name', i.name, 'kind', i.kind, 'status', i.status, 'summary', i.summary,
    'involvements', json_build_object('nodes', (
      SELECT coalesce(json_agg(json_build_object(
        'role', v.role, 'participant', json_build_object('name', q.name)
      ) ORDER BY v.id), '[]')
      FROM (SELECT * FROM involvement WHERE initiative_id = i.id ORDER BY id LIMIT 30) AS v
      JOIN participant AS q ON q.id = v.participant_id
    ))
  )
  FROM initiative AS i WHERE i.slug = $1
)))::text
