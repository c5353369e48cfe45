-- nested: correlated subqueries, each level paged by key, aggregated to JSON where it is read.
SELECT json_build_object('data', json_build_object('municipalities', json_build_object('edges', (
  SELECT coalesce(json_agg(json_build_object('node', json_build_object(
    'code', m.code,
    'name', p.name,
    'involvements', json_build_object('nodes', (
      SELECT coalesce(json_agg(json_build_object(
        'role', v.role,
        'initiative', json_build_object(
          'name', i.name,
          'status', i.status,
          'involvements', json_build_object('nodes', (
            SELECT coalesce(json_agg(json_build_object(
              'role', w.role, 'participant', json_build_object('name', q.name)
            ) ORDER BY w.id), '[]')
            FROM (SELECT * FROM involvement WHERE initiative_id = i.id ORDER BY id LIMIT 5) AS w
            JOIN participant AS q ON q.id = w.participant_id
          ))
        )
      ) ORDER BY v.id), '[]')
      -- Each page is read from the (participant_id, id) index (migration 0003).
      FROM (SELECT * FROM involvement WHERE participant_id = m.id ORDER BY id LIMIT 10) AS v
      JOIN initiative AS i ON i.id = v.initiative_id
    ))
  )) ORDER BY m.id), '[]')
  FROM (SELECT * FROM municipality ORDER BY id LIMIT 50) AS m JOIN participant AS p ON p.id = m.id
))))::text
