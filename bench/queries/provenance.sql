-- provenance: $1 is the slug; the first 30 involvements by key, each with its participant and its
-- citations (by key) with their documents' titles.
SELECT json_build_object('data', json_build_object('initiative', (
  SELECT json_build_object(
    'slug', i.slug, 'name', i.name,
    'involvements', json_build_object('nodes', (
      SELECT coalesce(json_agg(json_build_object(
        'role', v.role,
        'participant', json_build_object('name', q.name),
        'sources', (
          SELECT coalesce(json_agg(json_build_object(
            'quote', c.quote, 'document', json_build_object('title', d.title)
          ) ORDER BY c.id), '[]')
          FROM citation AS c JOIN source_document AS d ON d.id = c.document_id
          WHERE c.involvement_id = v.id
        )
      ) ORDER BY v.id), '[]')
      FROM (SELECT * FROM involvement WHERE initiative_id = i.id ORDER BY id LIMIT 30) AS v
      JOIN participant AS q ON q.id = v.participant_id
    ))
  )
  FROM initiative AS i WHERE i.slug = $1
)))::text
