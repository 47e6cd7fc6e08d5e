-- name: compare-area-totals
-- Counts behind one area's row in `compare`: cameras inside the area (boundary points count
-- as inside, as in the grid), and how many carry a known kind, a direction, an operator and
-- a camera:type; the newest snapshot of the sources those cameras (or, for an extract's
-- extent, the extract itself) come from.
-- params: area_id
WITH a AS (SELECT * FROM areas WHERE id = $area_id),
inside AS (SELECT * FROM area_cameras($area_id))
SELECT count(*) AS cameras,
       count(*) FILTER (WHERE kind <> 'unknown') AS with_kind,
       count(*) FILTER (WHERE len(directions) > 0) AS with_direction,
       count(*) FILTER (WHERE operator IS NOT NULL) AS with_operator,
       count(*) FILTER (WHERE camera_type <> 'unknown') AS with_camera_type,
       (SELECT max(s.snapshot) FROM sources s
        WHERE s.id IN (SELECT source_id FROM inside) OR s.id = (SELECT source_id FROM a))
           AS data_date
FROM inside;

-- name: compare-area-groups
-- One area's cameras counted by visibility, kind and zone (zone: missing values left out).
-- params: area_id
WITH inside AS (SELECT * FROM area_cameras($area_id))
SELECT 'visibility' AS field, visibility AS value, count(*) AS n FROM inside GROUP BY ALL
UNION ALL
SELECT 'kind', kind, count(*) FROM inside GROUP BY ALL
UNION ALL
SELECT 'zone', zone, count(*) FROM inside WHERE zone IS NOT NULL GROUP BY ALL
ORDER BY field, n DESC, value;
