-- name: stats-totals
-- Camera count and the share that carries a direction, an operator, a camera:type.
SELECT count(*) AS cameras,
       count(*) FILTER (WHERE len(directions) > 0) AS with_direction,
       count(*) FILTER (WHERE operator IS NOT NULL) AS with_operator,
       count(*) FILTER (WHERE camera_type <> 'unknown') AS with_camera_type,
       count(*) FILTER (WHERE direction_invalid) AS direction_invalid,
       count(*) FILTER (WHERE osm_type = 'node') AS nodes,
       count(*) FILTER (WHERE osm_type = 'way') AS ways
FROM cameras;

-- name: stats-breakdown
-- Counts per value of one normalised column (kind, visibility, camera_type, zone, mount),
-- most common first; missing values are reported as '(none)'.
SELECT 'kind' AS field, kind AS value, count(*) AS n FROM cameras GROUP BY kind
UNION ALL
SELECT 'visibility', visibility, count(*) FROM cameras GROUP BY visibility
UNION ALL
SELECT 'camera_type', camera_type, count(*) FROM cameras GROUP BY camera_type
UNION ALL
SELECT 'zone', coalesce(zone, '(none)'), count(*) FROM cameras GROUP BY zone
UNION ALL
SELECT 'mount', coalesce(mount, '(none)'), count(*) FROM cameras GROUP BY mount
ORDER BY field, n DESC, value;

-- name: stats-sources
-- Every input with its snapshot, the cameras it held and how many are stored from it now
-- (fewer when a newer source holds some of the same elements).
SELECT s.id, s.path, s.sha256, s.format, s.snapshot, s.snapshot_kind, s.ingested_at,
       s.cameras, s.skipped_ways, s.rejected,
       (SELECT count(*) FROM cameras c WHERE c.source_id = s.id) AS stored
FROM sources s
ORDER BY s.id;

-- name: stats-source-breakdown
-- Per source: counts by kind and visibility of the cameras stored from it.
SELECT source_id, 'kind' AS field, kind AS value, count(*) AS n FROM cameras GROUP BY ALL
UNION ALL
SELECT source_id, 'visibility', visibility, count(*) FROM cameras GROUP BY ALL
ORDER BY source_id, field, n DESC, value;
