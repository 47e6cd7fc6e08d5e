-- name: pbf-cameras
-- Camera nodes and ways of one PBF extract: man_made=surveillance, plus
-- highway=speed_camera nodes when $speed is true. Ways come with their node refs.
-- params: path, speed
SELECT kind::VARCHAR AS osm_type, id AS osm_id, lat, lon, tags, refs
FROM ST_ReadOSM($path)
WHERE (kind = 'node' OR kind = 'way')
  AND (
    trim(tags['man_made']) = 'surveillance'
    OR ($speed AND kind = 'node' AND trim(tags['highway']) = 'speed_camera')
  );

-- name: pbf-way-node-coords
-- Coordinates of the nodes that camera ways refer to (temp table wanted_refs).
-- params: path
SELECT id, lat, lon
FROM ST_ReadOSM($path)
WHERE kind = 'node' AND id IN (SELECT id FROM wanted_refs);
