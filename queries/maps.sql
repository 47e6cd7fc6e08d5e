-- name: map-cameras
-- The cameras inside one area, with what a map shows of them: normalised fields and raw
-- tags. Same inside test as the grid (boundary points count as inside).
-- params: area_id
SELECT c.osm_type, c.osm_id, c.lat, c.lon, c.kind, c.visibility, c.camera_type, c.zone,
       c.mount, c.operator, c.directions, c.direction_invalid, c.tags, c.source_id
FROM area_cameras($area_id) c
ORDER BY c.osm_type, c.osm_id;

