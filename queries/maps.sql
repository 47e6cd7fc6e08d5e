-- name: map-cameras
-- The cameras inside one area, with what a map shows of them: normalised fields and raw
-- tags. Same inside test as the grid (boundary points count as inside).
-- params: area_id
SELECT c.osm_type, c.osm_id, c.lat, c.lon, c.kind, c.visibility, c.camera_type, c.zone,
       c.mount, c.operator, c.directions, c.direction_invalid, c.tags, c.source_id
FROM cameras c, areas a
WHERE a.id = $area_id
  AND c.lon BETWEEN a.min_lon AND a.max_lon
  AND c.lat BETWEEN a.min_lat AND a.max_lat
  AND ST_Intersects(ST_GeomFromWKB(a.geometry), ST_Point(c.lon, c.lat))
ORDER BY c.osm_type, c.osm_id;

