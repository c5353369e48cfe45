-- predecessors: $1 is the code; the municipality and its predecessors, transitively (a fusion's resulting
-- side to its dissolved side), then the first 20 of all their involvements by key.
WITH RECURSIVE walk(id) AS (
  SELECT id FROM municipality WHERE code = $1
  UNION
  SELECT gone.municipality_id
  FROM walk
  JOIN fusion_municipality AS formed ON formed.municipality_id = walk.id AND formed.side = 'resulting'
  JOIN fusion_municipality AS gone ON gone.fusion_id = formed.fusion_id AND gone.side = 'dissolved'
)
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
      FROM (
        SELECT * FROM involvement WHERE participant_id IN (SELECT id FROM walk) ORDER BY id LIMIT 20
      ) AS v
      JOIN participant AS q ON q.id = v.participant_id
      JOIN initiative AS i ON i.id = v.initiative_id
    ))
  )
  FROM municipality AS m JOIN participant AS p ON p.id = m.id
  WHERE m.code = $1
)))::text
