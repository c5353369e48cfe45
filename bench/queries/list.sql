-- list: every municipality, flat.
SELECT json_build_object('data', json_build_object('municipalities', json_build_object('nodes', (
  SELECT coalesce(json_agg(json_build_object(
    'code', m.code, 'name', p.name, 'province', m.province,
    'foundedOn', m.founded_on, 'dissolvedOn', m.dissolved_on
  ) ORDER BY m.id), '[]')
  FROM (SELECT * FROM municipality ORDER BY id LIMIT 100) AS m JOIN participant AS p ON p.id = m.id
))))::text
