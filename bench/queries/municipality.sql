-- municipality: $1 is the code; its first 20 involvements by key, each with participant and initiative.
SELECT json_build_object('data', json_build_object('municipality', (
  SELECT json_build_object(
    'code', m.code,
    'name', p.name,
    'involvements', json_build_object('nodes', (
      SELECT coalesce(json_agg(json_build_object(
        'role', v.role,
        'participant', json_build_object('name', q.name),
        'initiative', json_build_object('slug', i.slug, 'name', i.name, 'status', i.status)
      ) ORDER BY v.id), '[]')
      FROM (SELECT * FROM involvement WHERE participant_id = m.id ORDER BY id LIMIT 20) AS v
      JOIN participant AS q ON q.id = v.participant_id
      JOIN initiative AS i ON i.id = v.initiative_id
    ))
  )
  FROM municipality AS m JOIN participant AS p ON p.id = m.id
  WHERE m.code = $1
)))::text
