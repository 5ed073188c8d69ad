//! HTML representations for browsers: plain, server-rendered pages, bilingual, no scripts.

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::layers::CollectionDef;
use crate::model::{Feature, PropertyValue};
use crate::service::Collection;
use crate::service::items::ItemsPage;

use super::openapi::Link;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
<style>body{{font-family:system-ui,\"PingFang SC\",\"Noto Sans CJK SC\",sans-serif;margin:0 auto;max-width:72rem;padding:1rem;line-height:1.5}}\
nav a{{margin-right:1rem}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}}\
th{{background:#f3f5f7}}a{{color:#0b5cad}}.pager a{{display:inline-block;min-width:44px;min-height:44px;line-height:44px;margin-right:1rem}}\
code{{background:#f3f5f7;padding:0 .25rem}}</style></head><body>\
<nav><a href=\"/\">首页 Home</a><a href=\"/collections\">图层 Collections</a><a href=\"/map/\">地图 Map</a><a href=\"/api?f=html\">API</a></nav>\
<h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    )
}

fn links_list(links: &Value) -> String {
    let mut out = String::from("<ul>");
    for l in links.as_array().into_iter().flatten() {
        let href = l["href"].as_str().unwrap_or_default();
        let _ = write!(
            out,
            "<li><a href=\"{}\">{}</a> <small>({} · {})</small></li>",
            escape(href),
            escape(l["title"].as_str().unwrap_or(href)),
            escape(l["rel"].as_str().unwrap_or_default()),
            escape(l["type"].as_str().unwrap_or_default())
        );
    }
    out.push_str("</ul>");
    out
}

/// The landing page.
pub fn landing(doc: &Value) -> String {
    let body = format!(
        "<p>{}</p><p><small>{}</small></p>{}",
        escape(doc["description"].as_str().unwrap_or_default()),
        escape(doc["attribution"].as_str().unwrap_or_default()),
        links_list(&doc["links"])
    );
    page(doc["title"].as_str().unwrap_or("citygrid"), &body)
}

/// The conformance classes.
pub fn conformance(classes: &[&str]) -> String {
    let items = classes.iter().fold(String::new(), |mut out, c| {
        let _ = write!(out, "<li><code>{}</code></li>", escape(c));
        out
    });
    page("符合性 Conformance", &format!("<ul>{items}</ul>"))
}

/// The API document as a list of paths and operations.
pub fn api(doc: &Value) -> String {
    let mut body = String::from(
        "<p><a href=\"/api?f=json\">OpenAPI 3.0 JSON</a></p><table><tr><th>Path</th><th>Operation</th><th>Parameters</th></tr>",
    );
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let params: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let name = p["name"].as_str().map(str::to_owned).or_else(|| {
                        p["$ref"]
                            .as_str()
                            .and_then(|r| r.rsplit('/').next())
                            .map(str::to_owned)
                    });
                    escape(&name.unwrap_or_default())
                })
                .collect();
            let _ = write!(
                body,
                "<tr><td><code>{} {}</code></td><td>{}</td><td>{}</td></tr>",
                escape(&method.to_uppercase()),
                escape(path),
                escape(op["summary"].as_str().unwrap_or_default()),
                params.join(", ")
            );
        }
    }
    body.push_str("</table>");
    page("API", &body)
}

/// The list of collections.
pub fn collections(doc: &Value) -> String {
    let mut body = String::from(
        "<table><tr><th>图层 Collection</th><th>要素数 Features</th><th>说明 Description</th></tr>",
    );
    for c in doc["collections"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td><a href=\"/collections/{id}?f=html\">{}</a><br><code>{id}</code></td><td><a href=\"/collections/{id}/items?f=html\">{}</a></td><td>{}</td></tr>",
            escape(c["title"].as_str().unwrap_or(id)),
            c["x-feature-count"],
            escape(c["description"].as_str().unwrap_or_default()),
            id = escape(id)
        );
    }
    body.push_str("</table>");
    page("图层 Collections", &body)
}

/// One collection with its property schema.
pub fn collection(doc: &Value, def: &CollectionDef) -> String {
    let mut body = format!(
        "<p>{}</p><p>要素数 Features: <a href=\"/collections/{id}/items?f=html\">{}</a></p>\
         <h2>属性 Properties</h2><table><tr><th>名称 Name</th><th>中文</th><th>English</th><th>允许值 Allowed</th></tr>",
        escape(&def.description),
        doc["x-feature-count"],
        id = escape(def.id.as_str())
    );
    for p in &def.schema.properties {
        let allowed = if p.enumeration.is_empty() {
            p.allowed()
        } else {
            p.enumeration
                .iter()
                .map(|v| format!("{} {} ({})", v.code, v.zh, v.en))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            escape(&p.title_zh),
            escape(&p.title_en),
            escape(&allowed)
        );
    }
    body.push_str("</table>");
    body.push_str(&links_list(&doc["links"]));
    page(doc["title"].as_str().unwrap_or_default(), &body)
}

fn cell(value: &PropertyValue) -> String {
    match value {
        PropertyValue::Null => String::new(),
        PropertyValue::String(s) => escape(s),
        PropertyValue::Json(json) if json.is_array() => escape(
            &json
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("、"),
        ),
        other => escape(&other.to_string()),
    }
}

/// A page of features as a table.
pub fn items(
    collection: &Collection,
    page_of: &ItemsPage,
    links: &[Link],
    offset: usize,
) -> String {
    let def = &collection.def;
    let id = escape(def.id.as_str());
    let mut body = format!(
        "<p>第 {}–{} 条，共 {} 条 · items {}–{} of {}</p><table><tr><th>id</th>",
        offset + usize::from(!page_of.features.is_empty()),
        offset + page_of.features.len(),
        page_of.number_matched,
        offset + usize::from(!page_of.features.is_empty()),
        offset + page_of.features.len(),
        page_of.number_matched
    );
    for p in &def.schema.properties {
        let _ = write!(
            body,
            "<th>{}<br><small>{}</small></th>",
            escape(&p.title_zh),
            escape(&p.name)
        );
    }
    body.push_str("</tr>");
    for f in &page_of.features {
        let _ = write!(
            body,
            "<tr><td><a href=\"/collections/{id}/items/{fid}?f=html\">{fid}</a></td>",
            fid = escape(f.id.as_str())
        );
        for p in &def.schema.properties {
            let _ = write!(
                body,
                "<td>{}</td>",
                cell(f.properties.get(&p.name).unwrap_or(&PropertyValue::Null))
            );
        }
        body.push_str("</tr>");
    }
    body.push_str("</table><p class=\"pager\">");
    for l in links {
        let rel = l.rel.as_deref().unwrap_or_default();
        let label = match rel {
            "prev" => "← 上一页 Previous",
            "next" => "下一页 Next →",
            "alternate" => "GeoJSON",
            _ => continue,
        };
        let _ = write!(
            body,
            "<a rel=\"{rel}\" href=\"{}\">{label}</a>",
            escape(&l.href)
        );
    }
    body.push_str("</p>");
    page(&format!("{} {}", def.title_zh, def.title_en), &body)
}

/// One feature.
pub fn item(collection: &Collection, feature: &Feature) -> String {
    let def = &collection.def;
    let mut body = String::from("<table>");
    for p in &def.schema.properties {
        let value = feature
            .properties
            .get(&p.name)
            .unwrap_or(&PropertyValue::Null);
        let shown = p
            .enumeration
            .iter()
            .find(|v| value.as_str() == Some(v.code.as_str()))
            .map_or_else(
                || cell(value),
                |v| format!("{} {} ({})", escape(&v.zh), escape(&v.en), escape(&v.code)),
            );
        let _ = write!(
            body,
            "<tr><th>{} {}</th><td>{shown}</td></tr>",
            escape(&p.title_zh),
            escape(&p.title_en)
        );
    }
    let _ = write!(
        body,
        "</table><p>版本 version {} · 更新 updated {}</p><p><a href=\"/collections/{}/items/{}?f=json\">GeoJSON</a></p>",
        feature.version,
        escape(&feature.updated_at_text()),
        escape(def.id.as_str()),
        escape(feature.id.as_str())
    );
    page(&format!("{} {}", def.title_zh, feature.id), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
