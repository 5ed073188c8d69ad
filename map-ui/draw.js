// Drawing a polygon by tapping its vertices: no plugin, works the same with a finger or a mouse.

export class PolygonDraw {
  constructor(map, sourceId) {
    this.map = map;
    this.sourceId = sourceId;
    this.vertices = [];
    this.active = false;
  }

  start() { this.vertices = []; this.active = true; this.render(); }

  add(lngLat) { if (this.active) { this.vertices.push([lngLat.lng, lngLat.lat]); this.render(); } }

  /** The closed polygon (GeoJSON geometry), or null with fewer than 3 vertices. */
  finish() {
    if (this.vertices.length < 3) return null;
    this.active = false;
    const ring = [...this.vertices, this.vertices[0]];
    this.render();
    return { type: 'Polygon', coordinates: [ring] };
  }

  clear() { this.vertices = []; this.active = false; this.render(); }

  render() {
    const v = this.vertices;
    const features = v.map((c) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: c } }));
    if (v.length >= 3) {
      features.push({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[...v, v[0]]] } });
    } else if (v.length === 2) {
      features.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: v } });
    }
    this.map.getSource(this.sourceId)?.setData({ type: 'FeatureCollection', features });
  }
}
