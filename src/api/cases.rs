//! Cases over HTTP: reporting (JSON or a multipart tablet form with photos), listing, the case
//! page, actions, "my tasks", overdue cases, the hazard register, metrics, categories, the
//! working calendar, photos and a server-sent event stream of changes.
//!
//! Every route here needs a bearer token (cases and photos are never readable anonymously),
//! except the category list and the calendar, which are reference data.

use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::handler::Handler as _;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;

use chrono::{DateTime, Datelike as _, NaiveDate, TimeZone as _, Utc};
use serde_json::{Map, Value, json};

use super::auth::{Actor, Remote};
use super::spatial::{
    check_known, crs_param, geojson_format, number, object, position, reject_unknown_members,
};
use super::{ApiError, AppState, media, param, query_pairs, with_type};
use crate::model::calendar::china_offset;
use crate::model::case::{Action, AssetRef, Case, CaseState, ReadScope};
use crate::model::crs::InputCrs;
use crate::model::user::Role;
use crate::model::user::User;
use crate::service::cases::metrics::{self, GroupBy};
use crate::service::cases::{ActionRequest, CaseError, NewReport, Reported, Reporter};
use crate::service::photos::{MAX_PHOTO_BYTES, MAX_PHOTOS_PER_CASE};
use crate::store::cases::{CaseOrder, CaseQuery};

mod events;

pub use events::case_events;

/// Largest JSON body of a report or an action.
const MAX_JSON_BYTES: usize = 64 * 1024;
/// Largest multipart report: six photos and the form.
const MAX_FORM_BYTES: usize = MAX_PHOTOS_PER_CASE * MAX_PHOTO_BYTES + 64 * 1024;
/// Largest page of a case listing.
const MAX_LIMIT: u32 = 1_000;

/// The case routes; each handler asks for the token it needs.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route(
            "/cases",
            get(list_cases).post(report_case.layer(DefaultBodyLimit::max(MAX_FORM_BYTES))),
        )
        .route("/cases/categories", get(list_categories))
        .route("/cases/suggested-asset", get(suggested_asset))
        .route("/cases/calendar", get(working_calendar))
        .route("/cases/overdue", get(overdue_cases))
        .route("/cases/hazards", get(hazard_register))
        .route("/cases/metrics", get(case_metrics))
        .route("/cases/events", get(case_events))
        .route("/cases/{id}", get(get_case))
        .route("/cases/{id}/actions", post(act_on_case))
        .route("/tasks", get(my_tasks))
        .route(
            "/photos",
            post(upload_photo.layer(DefaultBodyLimit::max(MAX_PHOTO_BYTES + 64 * 1024))),
        )
        .route("/photos/{id}", get(photo))
}

/// A case as JSON, with labels and the overdue flag as of now.
pub(crate) fn case_json(case: &Case) -> Value {
    let mut value = serde_json::to_value(case).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("state_zh".into(), json!(case.state.label_zh()));
        object.insert("state_en".into(), json!(case.state.label_en()));
        object.insert("overdue".into(), json!(case.overdue_at(Utc::now())));
    }
    value
}

/// [`case_json`] of the case as `user` may read it (the reporter withheld unless they may see
/// it).
pub(crate) fn case_json_for(case: &Case, user: &User) -> Value {
    case_json(&case.redacted_for(user))
}

fn case_feature(case: &Case, now: DateTime<Utc>) -> Value {
    json!({
        "type": "Feature",
        "id": case.id,
        "geometry": { "type": "Point", "coordinates": [case.lon, case.lat] },
        "properties": {
            "id": case.id,
            "category": case.category,
            "state": case.state,
            "state_zh": case.state.label_zh(),
            "description": case.description,
            "cell": case.cell(),
            "assigned_unit": case.assigned_unit,
            "reported_at": case.reported_at,
            "due_at": case.due_at,
            "overdue": case.overdue_at(now),
        },
    })
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = with_type(value.to_string(), media::JSON);
    *response.status_mut() = status;
    response
}

fn text_member<'a>(
    body: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(ApiError::invalid(
            name,
            &other.to_string(),
            "a string",
            "wrong type",
        )),
    }
}

fn number_member(body: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| ApiError::invalid(name, &v.to_string(), "a number", "wrong type")),
    }
}

fn photo_ids(body: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    match body.get("photos") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(str::to_ascii_lowercase)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "photos",
                            &v.to_string(),
                            "photo ids (64 hex digits) returned by POST /photos",
                            "not a photo id",
                        )
                    })
            })
            .collect(),
        Some(other) => Err(ApiError::invalid(
            "photos",
            &other.to_string(),
            "an array of photo ids",
            "wrong type",
        )),
    }
}

fn asset_member(body: &Map<String, Value>) -> Result<Option<AssetRef>, ApiError> {
    match body.get("asset") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(a)) => {
            let collection = a.get("collection").and_then(Value::as_str);
            let id = a.get("id").and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            });
            match (collection, id) {
                (Some(collection), Some(id)) => Ok(Some(AssetRef {
                    collection: collection.to_owned(),
                    id,
                })),
                _ => Err(ApiError::invalid(
                    "asset",
                    &Value::Object(a.clone()).to_string(),
                    "{\"collection\": \"manholes\", \"id\": \"…\"}",
                    "collection and id are both needed",
                )),
            }
        }
        Some(other) => Err(ApiError::invalid(
            "asset",
            &other.to_string(),
            "{\"collection\": …, \"id\": …}",
            "wrong type",
        )),
    }
}

fn location(lon: Option<f64>, lat: Option<f64>, crs: InputCrs) -> Result<(f64, f64), ApiError> {
    let lon =
        lon.ok_or_else(|| ApiError::invalid("lon", "", "a longitude in degrees", "missing"))?;
    let lat =
        lat.ok_or_else(|| ApiError::invalid("lat", "", "a latitude in degrees", "missing"))?;
    position(lon, lat, crs, "lon,lat")
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Idempotency-Key",
                        "",
                        "1 to 200 visible ASCII characters",
                        "not a usable key",
                    )
                })
        })
        .transpose()
}

/// A report parsed from JSON: every member checked.
fn report_from_json(body: &Value, headers: &HeaderMap) -> Result<NewReport, ApiError> {
    let body = object(body)?;
    reject_unknown_members(
        body,
        &[
            "category",
            "lon",
            "lat",
            "crs",
            "description",
            "address",
            "photos",
            "asset",
            "channel",
        ],
    )?;
    let crs = crs_param(text_member(body, "crs")?)?;
    let (lon, lat) = location(
        number_member(body, "lon")?,
        number_member(body, "lat")?,
        crs,
    )?;
    let channel = text_member(body, "channel")?.unwrap_or("api");
    if !matches!(channel, "api" | "tablet") {
        return Err(ApiError::invalid(
            "channel",
            channel,
            "api or tablet",
            "unknown channel",
        ));
    }
    Ok(NewReport {
        category: text_member(body, "category")?
            .ok_or_else(|| ApiError::invalid("category", "", "a category code", "missing"))?
            .to_owned(),
        lon,
        lat,
        description: text_member(body, "description")?
            .ok_or_else(|| {
                ApiError::invalid("description", "", "what is wrong, in words", "missing")
            })?
            .to_owned(),
        address: text_member(body, "address")?.map(str::to_owned),
        photos: photo_ids(body)?,
        asset: asset_member(body)?,
        channel: channel.to_owned(),
        idempotency_key: idempotency_key(headers)?,
        remote: None,
    })
}

fn reported_response(reported: &Reported, state: &AppState) -> Response {
    let body = json!({
        "case": case_json(&reported.case),
        "probable_duplicates": reported.duplicates,
        "suggested_asset": reported.suggested_asset,
        "links": [{ "href": state.url(&format!("/cases/{}", reported.case.id)), "rel": "self", "type": media::JSON }],
    });
    let status = if reported.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json_response(status, &body);
    if let Ok(location) = HeaderValue::from_str(&state.url(&format!("/cases/{}", reported.case.id)))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `POST /cases`: a report as JSON (photos uploaded before with `POST /photos`) or as a
/// `multipart/form-data` tablet form whose `photo` parts are the pictures.
pub async fn report_case(
    State(state): State<AppState>,
    Actor(user): Actor,
    Remote(remote): Remote,
    request: Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let who = Reporter::User(user.clone());
    let cases = &state.cases;
    let reported = if is_form {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::invalid("body", "", "multipart/form-data", e.body_text()))?;
        let (mut report, photos) = report_from_form(multipart, &headers).await?;
        report.remote.clone_from(&remote);
        // Check everything else before storing a photo, so that a refused report leaves nothing.
        cases.prepare(&who, &report)?;
        for data in photos {
            let photo = cases.upload_photo(&user, data, remote.clone()).await?;
            if !report.photos.contains(&photo.sha256) {
                report.photos.push(photo.sha256);
            }
        }
        cases.report(&who, report).await?
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|e| super::error::body_error(&e, MAX_JSON_BYTES))?;
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::invalid("body", "", "a JSON object", e.to_string()))?;
        let mut report = report_from_json(&body, &headers)?;
        report.remote = remote;
        cases.report(&who, report).await?
    };
    Ok(reported_response(&reported, &state))
}

async fn report_from_form(
    mut multipart: Multipart,
    headers: &HeaderMap,
) -> Result<(NewReport, Vec<Bytes>), ApiError> {
    let mut fields: Map<String, Value> = Map::new();
    let mut photos: Vec<Bytes> = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::invalid("body", "", "multipart/form-data", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photo" || name == "photos" {
            if photos.len() == MAX_PHOTOS_PER_CASE {
                return Err(ApiError::invalid(
                    "photo",
                    "",
                    format!("at most {MAX_PHOTOS_PER_CASE} photos"),
                    "too many photos",
                ));
            }
            let data = field
                .bytes()
                .await
                .map_err(|e| ApiError::invalid("photo", "", "an image file", e.body_text()))?;
            if data.len() > MAX_PHOTO_BYTES {
                return Err(ApiError::PayloadTooLarge(MAX_PHOTO_BYTES));
            }
            if !data.is_empty() {
                photos.push(data);
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| ApiError::invalid(&name, "", "text", e.body_text()))?;
        let value = match name.as_str() {
            "lon" | "lat" => json!(text.trim().parse::<f64>().map_err(|_| ApiError::invalid(
                &name,
                &text,
                "a number of degrees",
                "not a number"
            ))?),
            "asset_collection" | "asset_id" => {
                let asset = fields
                    .entry("asset")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .map(|a| {
                        a.insert(name.trim_start_matches("asset_").to_owned(), json!(text));
                    });
                let _ = asset;
                continue;
            }
            _ => json!(text),
        };
        if fields.insert(name.clone(), value).is_some() {
            return Err(ApiError::invalid(
                &name,
                &text,
                "the field once",
                "given twice",
            ));
        }
    }
    if fields
        .get("asset")
        .and_then(Value::as_object)
        .is_some_and(|a| {
            a.get("id")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        })
    {
        fields.remove("asset");
    }
    fields.entry("channel").or_insert_with(|| json!("tablet"));
    let report = report_from_json(&Value::Object(fields), headers)?;
    Ok((report, photos))
}

/// `POST /photos`: one photo, either as the raw body (`Content-Type: image/jpeg|png|webp`) or
/// as a `multipart/form-data` form of one file part (any name, e.g. `curl -F photo=@x.jpg`); the
/// content decides, not the header. Returns its id for a report or an action.
pub async fn upload_photo(
    State(state): State<AppState>,
    Actor(user): Actor,
    Remote(remote): Remote,
    request: Request,
) -> Result<Response, ApiError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let data = if is_form {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::invalid("body", "", "multipart/form-data", e.body_text()))?;
        photo_from_form(multipart).await?
    } else {
        axum::body::to_bytes(request.into_body(), MAX_PHOTO_BYTES)
            .await
            .map_err(|e| super::error::body_error(&e, MAX_PHOTO_BYTES))?
    };
    let photo = state.cases.upload_photo(&user, data, remote).await?;
    let url = state.url(&format!("/photos/{}", photo.sha256));
    let mut response = json_response(
        StatusCode::CREATED,
        &json!({ "id": photo.sha256, "sha256": photo.sha256, "media_type": photo.media_type, "bytes": photo.bytes, "href": url }),
    );
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The one file part of a `POST /photos` form; its name does not matter.
async fn photo_from_form(mut multipart: Multipart) -> Result<Bytes, ApiError> {
    let form_error = |e: axum::extract::multipart::MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_PHOTO_BYTES),
        _ => ApiError::invalid("body", "", "multipart/form-data", e.body_text()),
    };
    let mut photo: Option<Bytes> = None;
    while let Some(field) = multipart.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let data = field.bytes().await.map_err(form_error)?;
        if data.len() > MAX_PHOTO_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_PHOTO_BYTES));
        }
        if photo.is_some() {
            return Err(ApiError::invalid(
                "photo",
                &name,
                "a form of exactly one file part (the photo)",
                "the form has more than one part; upload one photo per request",
            ));
        }
        photo = Some(data);
    }
    photo.filter(|p| !p.is_empty()).ok_or_else(|| {
        ApiError::invalid(
            "photo",
            "",
            "a form of exactly one file part (the photo)",
            "the form holds no photo",
        )
    })
}

/// `GET /photos/{id}`: a stored photo (signed-in users only).
pub async fn photo(
    State(state): State<AppState>,
    Actor(_): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let found = state
        .cases
        .photos()
        .get(&id)
        .await
        .map_err(CaseError::from)?;
    let (data, kind) = found.ok_or_else(|| ApiError::NotFound(format!("no photo {id}")))?;
    let mut response = with_type(data, kind.media_type());
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{id}\"")) {
        headers.insert(header::ETAG, etag);
    }
    // A photo is shown, never run: no sniffing it into HTML, no scripts or requests from it
    // even when opened directly, and a harmless file name when saved.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    // The id was checked to be 64 hex digits by the store, so it is safe in a header.
    if let Ok(disposition) =
        HeaderValue::from_str(&format!("inline; filename=\"{id}.{}\"", kind.extension()))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

fn case_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("id", raw, "a case number", "not a case number"))
}

/// `GET /cases/{id}`: the case page: case, log, deadlines and what the user may do.
pub async fn get_case(
    State(state): State<AppState>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = case_id(&id)?;
    let detail = state.cases.detail(id, &user).await?;
    // Out of the reader's scope reads as absent, so that case numbers are not confirmed.
    if !ReadScope::of(&user).admits_case(&detail.case) {
        return Err(CaseError::NotFound(id).into());
    }
    let category = state.cases.categories().get(&detail.case.category).cloned();
    let log = crate::model::case::redact_log(&detail.log, &detail.case.reporter, &user);
    let body = json!({
        "case": case_json_for(&detail.case, &user),
        "category": category,
        "log": log.iter().map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            v["action_zh"] = json!(e.action.label_zh());
            v["action_en"] = json!(e.action.label_en());
            v["to_zh"] = json!(e.to.label_zh());
            v
        }).collect::<Vec<_>>(),
        "schedule": detail.schedule,
        "overdue": detail.overdue,
        "allowed_actions": detail.allowed_actions.iter().map(|a| json!({
            "action": a, "label_zh": a.label_zh(), "label_en": a.label_en(), "needs_note": a.needs_note(),
        })).collect::<Vec<_>>(),
        "merged_duplicates": detail.duplicates,
        "photo_base": state.url("/photos/"),
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /cases/{id}/actions`: `{action, note?, photos?, unit?, amount?, into?, asset?, version?}`
/// (`asset` with `link_asset`: `{collection, id}` to link, `null` to clear).
/// `version` (or `If-Match: "N"`) makes the action conditional on the case being unchanged.
pub async fn act_on_case(
    State(state): State<AppState>,
    Actor(user): Actor,
    Remote(remote): Remote,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = case_id(&id)?;
    let bytes = axum::body::to_bytes(body, MAX_JSON_BYTES)
        .await
        .map_err(|e| super::error::body_error(&e, MAX_JSON_BYTES))?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid("body", "", "a JSON object", e.to_string()))?;
    let body = object(&body)?;
    reject_unknown_members(
        body,
        &[
            "action", "note", "photos", "unit", "amount", "into", "asset", "version",
        ],
    )?;
    let allowed = Action::TRANSITIONS
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let raw_action = text_member(body, "action")?
        .ok_or_else(|| ApiError::invalid("action", "", allowed.clone(), "missing"))?;
    let action = Action::parse(raw_action)
        .filter(|a| *a != Action::Report)
        .ok_or_else(|| ApiError::invalid("action", raw_action, allowed, "unknown action"))?;
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_owned()
        });
    let expected_version = match (body.get("version"), if_match) {
        (Some(v), _) if !v.is_null() => Some(v.as_i64().ok_or_else(|| {
            ApiError::invalid(
                "version",
                &v.to_string(),
                "the case's version number",
                "not an integer",
            )
        })?),
        (_, Some(tag)) => Some(tag.parse::<i64>().map_err(|_| {
            ApiError::invalid(
                "If-Match",
                &tag,
                "the case's version, e.g. \"3\"",
                "not a version",
            )
        })?),
        _ => None,
    };
    let into = match body.get("into") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::invalid("into", &v.to_string(), "a case number", "not an integer")
        })?),
    };
    // `link_asset` needs the member: an asset to link, or null to clear the link.
    if action == Action::LinkAsset && !body.contains_key("asset") {
        return Err(ApiError::invalid(
            "asset",
            "",
            "{\"collection\": \"manholes\", \"id\": \"…\"} to link, or null to clear the link",
            "missing",
        ));
    }
    let request = ActionRequest {
        asset: asset_member(body)?,
        action,
        note: text_member(body, "note")?.map(str::to_owned),
        photos: photo_ids(body)?,
        unit: text_member(body, "unit")?.map(str::to_owned),
        amount: number_member(body, "amount")?,
        into,
        expected_version,
        remote,
    };
    let case = match state.cases.act(&user, id, request).await {
        Ok(case) => case,
        // The case as it now is goes only to those who may read it, as they may read it.
        Err(CaseError::Conflict(current)) if !ReadScope::of(&user).admits_case(&current) => {
            return Err(CaseError::NotFound(id).into());
        }
        Err(CaseError::Conflict(current)) => {
            return Err(CaseError::Conflict(Box::new(current.redacted_for(&user))).into());
        }
        Err(other) => return Err(other.into()),
    };
    let mut response = json_response(
        StatusCode::OK,
        &json!({ "case": case_json_for(&case, &user) }),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", case.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

fn time_param(
    raw: Option<&str>,
    name: &str,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ApiError::invalid(
            name,
            raw,
            "a date YYYY-MM-DD (China time) or an RFC 3339 instant",
            "not a date",
        )
    })?;
    let day = if end_of_day {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Ok(china_offset()
        .from_local_datetime(&start)
        .single()
        .map(|t| t.with_timezone(&Utc)))
}

fn states_param(raw: Option<&str>) -> Result<Vec<CaseState>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let allowed = || {
        CaseState::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
            + ", open"
    };
    let mut states = Vec::new();
    for part in raw.split(',').map(str::trim) {
        if part == "open" {
            states.extend(CaseState::ALL.into_iter().filter(|s| s.is_open()));
        } else {
            states.push(
                CaseState::parse(part)
                    .ok_or_else(|| ApiError::invalid("state", part, allowed(), "unknown state"))?,
            );
        }
    }
    Ok(states)
}

fn limit_param(raw: Option<&str>) -> Result<u32, ApiError> {
    raw.map_or(Ok(100), |raw| {
        raw.parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    raw,
                    format!("an integer from 1 to {MAX_LIMIT}"),
                    "not allowed",
                )
            })
    })
}

/// `GET /cases?state=&category=&unit=&cell=&reporter=&overdue=&bbox=&from=&to=&limit=&offset=&f=json|geojson`.
/// The listing asked for by the query parameters of `GET /cases`, and whether as GeoJSON.
fn case_query(
    pairs: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<(CaseQuery, bool), ApiError> {
    let bbox = param(pairs, "bbox")
        .map(|raw| {
            crate::model::Bbox::parse(raw)
                .map(|bbox| {
                    // The district never crosses the antimeridian: one box covers the parts.
                    let (mut west, mut south, mut east, mut north) =
                        (180.0_f64, 90.0_f64, -180.0_f64, -90.0_f64);
                    for rect in bbox.rects() {
                        west = west.min(rect.min().x);
                        south = south.min(rect.min().y);
                        east = east.max(rect.max().x);
                        north = north.max(rect.max().y);
                    }
                    [west, south, east, north]
                })
                .map_err(|e| {
                    ApiError::invalid(
                        "bbox",
                        raw,
                        "west,south,east,north in degrees",
                        e.to_string(),
                    )
                })
        })
        .transpose()?;
    let overdue = match param(pairs, "overdue") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "overdue",
                other,
                "true or false",
                "not a boolean",
            ));
        }
    };
    let order = match param(pairs, "order") {
        None | Some("newest") => CaseOrder::Newest,
        Some("deadline") => CaseOrder::Deadline,
        Some(other) => {
            return Err(ApiError::invalid(
                "order",
                other,
                "newest or deadline",
                "unknown order",
            ));
        }
    };
    let offset = param(pairs, "offset")
        .map(|raw| {
            raw.parse::<u32>()
                .map_err(|_| ApiError::invalid("offset", raw, "an integer ≥ 0", "not allowed"))
        })
        .transpose()?
        .unwrap_or(0);
    let geojson = geojson_format(pairs)?;
    let limit = limit_param(param(pairs, "limit"))?;
    let query = CaseQuery {
        states: states_param(param(pairs, "state"))?,
        category: param(pairs, "category").map(str::to_owned),
        assigned_unit: param(pairs, "unit").map(str::to_owned),
        cells: param(pairs, "cell")
            .map(|c| {
                c.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        reporter: param(pairs, "reporter").map(str::to_owned),
        bbox,
        reported_from: time_param(param(pairs, "from"), "from", false)?,
        reported_to: time_param(param(pairs, "to"), "to", true)?,
        overdue_at: overdue.then_some(now),
        order: if overdue { CaseOrder::Deadline } else { order },
        limit: Some(limit),
        offset,
        ..CaseQuery::default()
    };
    Ok((query, geojson))
}

pub async fn list_cases(
    State(state): State<AppState>,
    Actor(user): Actor,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    check_known(
        &pairs,
        &[
            "state", "category", "unit", "cell", "reporter", "overdue", "bbox", "from", "to",
            "limit", "offset", "f", "order",
        ],
    )?;
    let now = state.cases.now();
    let (mut query, geojson) = case_query(&pairs, now)?;
    query.scope = Some(ReadScope::of(&user));
    let (cases, matched) = state
        .cases
        .store()
        .cases(&query)
        .await
        .map_err(CaseError::from)?;
    let body = if geojson {
        json!({
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": cases.len(),
            "features": cases.iter().map(|c| case_feature(c, now)).collect::<Vec<_>>(),
        })
    } else {
        json!({
            "number_matched": matched,
            "number_returned": cases.len(),
            "cases": cases.iter().map(|c| case_json_for(c, &user)).collect::<Vec<_>>(),
        })
    };
    let mut response = json_response(StatusCode::OK, &body);
    if geojson {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(media::GEOJSON),
        );
    }
    Ok(response)
}

/// `GET /cases/overdue`: open cases past their deadline, earliest first.
pub async fn overdue_cases(
    State(state): State<AppState>,
    Actor(user): Actor,
) -> Result<Response, ApiError> {
    let now = state.cases.now();
    let (cases, matched) = state
        .cases
        .store()
        .cases(&CaseQuery {
            overdue_at: Some(now),
            scope: Some(ReadScope::of(&user)),
            order: CaseOrder::Deadline,
            ..CaseQuery::default()
        })
        .await
        .map_err(CaseError::from)?;
    let rows: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut v = case_json_for(c, &user);
            v["overdue_hours"] = json!(
                c.due_at
                    .map(|d| ((now - d).num_minutes() as f64 / 60.0 * 10.0).round() / 10.0)
            );
            v
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "as_of": now, "number_matched": matched, "cases": rows }),
    ))
}

/// `GET /tasks`: the signed-in user's tasks, earliest deadline first.
pub async fn my_tasks(
    State(state): State<AppState>,
    Actor(user): Actor,
) -> Result<Response, ApiError> {
    let tasks = state.cases.tasks(&user).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "user": user.username.as_str(),
            "role": user.role,
            "tasks": tasks.iter().map(|c| {
                let mut v = case_json_for(c, &user);
                v["allowed_actions"] = json!(crate::model::case::allowed_actions(&user, &c.scope()));
                v
            }).collect::<Vec<_>>(),
        }),
    ))
}

/// `GET /cases/hazards?days=90&min_cases=2`: the hazard register (隐患清单).
pub async fn hazard_register(
    State(state): State<AppState>,
    Actor(user): Actor,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    check_known(&pairs, &["days", "min_cases"])?;
    let days = number(&pairs, "days", "a number of days from 1 to 3660")?.unwrap_or(90.0);
    if !(1.0..=3660.0).contains(&days) {
        return Err(ApiError::invalid(
            "days",
            &days.to_string(),
            "1 to 3660",
            "out of range",
        ));
    }
    let min_cases = number(&pairs, "min_cases", "an integer ≥ 1")?.unwrap_or(2.0);
    if !(1.0..=1000.0).contains(&min_cases) || min_cases.fract() != 0.0 {
        return Err(ApiError::invalid(
            "min_cases",
            &min_cases.to_string(),
            "an integer from 1 to 1000",
            "out of range",
        ));
    }
    let now = state.cases.now();
    #[expect(
        clippy::cast_possible_truncation,
        reason = "checked to be 1..=3660 days"
    )]
    let since = now - chrono::Duration::minutes((days * 1440.0) as i64);
    let (cases, _) = state
        .cases
        .store()
        .cases(&CaseQuery {
            reported_from: Some(since),
            scope: Some(ReadScope::of(&user)),
            ..CaseQuery::default()
        })
        .await
        .map_err(CaseError::from)?;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked to be 1..=1000"
    )]
    let hazards = metrics::hazards(&cases, since, min_cases as usize);
    let rows: Vec<Value> = hazards
        .iter()
        .map(|h| {
            let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
            if let Ok(feature) = state.catalog.feature(&h.asset.collection, &h.asset.id) {
                v["asset_properties"] = Value::Object(feature.properties.to_map());
            }
            v
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "since": since, "min_cases": min_cases, "hazards": rows }),
    ))
}

/// `GET /cases/metrics?group_by=street|community|grid|unit|category&from=&to=[&f=csv]`.
pub async fn case_metrics(
    State(state): State<AppState>,
    Actor(user): Actor,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    user_may_read_metrics(&user)?;
    let pairs = query_pairs(query.as_deref())?;
    check_known(&pairs, &["group_by", "from", "to", "f"])?;
    let group_by = param(&pairs, "group_by")
        .map(|raw| {
            GroupBy::parse(raw).ok_or_else(|| {
                ApiError::invalid(
                    "group_by",
                    raw,
                    "street, community, grid, unit or category",
                    "unknown grouping",
                )
            })
        })
        .transpose()?;
    let now = state.cases.now();
    let to_param = time_param(param(&pairs, "to"), "to", true)?;
    let to = to_param.unwrap_or(now);
    let from = time_param(param(&pairs, "from"), "from", false)?
        .unwrap_or_else(|| to - chrono::Duration::days(30));
    if from >= to {
        return Err(ApiError::invalid(
            "from",
            param(&pairs, "from").unwrap_or(""),
            "a time before `to`",
            "empty window",
        ));
    }
    // Cases reported up to a year before the window still close or fall due inside it.
    let (cases, _) = state
        .cases
        .store()
        .cases(&CaseQuery {
            reported_from: Some(from - chrono::Duration::days(366)),
            reported_to: to_param,
            scope: Some(ReadScope::of(&user)),
            ..CaseQuery::default()
        })
        .await
        .map_err(CaseError::from)?;
    let (mut rows, total) = metrics::metrics(&cases, group_by, from, to, now);
    if group_by == Some(GroupBy::Category) {
        for row in &mut rows {
            if let Some(c) = state.cases.categories().get(&row.key) {
                row.name = format!("{} {}", c.name_zh, c.name_en);
            }
        }
    }
    if param(&pairs, "f") == Some("csv") {
        use super::csv::{Cell, Table};
        let mut table = Table::new([
            "key",
            "name",
            "received",
            "filed",
            "dispatched",
            "due",
            "closed",
            "closed_on_time",
            "closure_rate",
            "on_time_rate",
            "rework_rate",
            "extension_rate",
            "median_hours_to_close",
            "overdue_now",
        ]);
        for row in rows.iter().chain(std::iter::once(&total)) {
            let rate = |r: Option<f64>| r.map_or(Cell::Empty, |r| Cell::number(format!("{r:.4}")));
            table.row([
                Cell::text(row.key.as_str()),
                Cell::text(row.name.as_str()),
                Cell::number(row.received),
                Cell::number(row.filed),
                Cell::number(row.dispatched),
                Cell::number(row.due),
                Cell::number(row.closed),
                Cell::number(row.closed_on_time),
                rate(row.closure_rate),
                rate(row.on_time_rate),
                rate(row.rework_rate),
                rate(row.extension_rate),
                row.median_hours_to_close
                    .map_or(Cell::Empty, |h| Cell::number(format!("{h:.2}"))),
                Cell::number(row.overdue_now),
            ]);
        }
        let csv = table.finish();
        return Ok(with_type(csv, "text/csv; charset=utf-8"));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "from": from, "to": to, "as_of": now,
            "group_by": group_by.map(GroupBy::as_str),
            "definitions": "received: reported in the window; due (应结案): dispatched cases whose handling deadline fell in the window and has passed, or closed in the window; closure_rate = closed/due; on_time_rate = closed on time/due; rework_rate = handled cases that failed a verification / handled; extension_rate = dispatched cases granted an extension / dispatched",
            "groups": rows,
            "total": total,
        }),
    ))
}

fn user_may_read_metrics(user: &crate::model::user::User) -> Result<(), ApiError> {
    if matches!(user.role, Role::Handler | Role::Worker) {
        return Err(ApiError::Forbidden(
            "metrics are for the command centre, supervisors, analysts, viewers and admins".into(),
        ));
    }
    Ok(())
}

/// `GET /cases/categories`: the case categories with their conditions and time limits.
pub async fn list_categories(State(state): State<AppState>) -> Response {
    let categories: Vec<Value> = state
        .cases
        .categories()
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
            v["time_unit_zh"] = json!(c.time_unit.label_zh());
            v
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "categories": categories }))
}

/// `GET /cases/suggested-asset?category=&lon=&lat=[&crs=]` (signed in): the asset a report of
/// this category here would be suggested, so a form can offer it before sending (null if none).
pub async fn suggested_asset(
    State(state): State<AppState>,
    Actor(_): Actor,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    check_known(&pairs, &["category", "lon", "lat", "crs"])?;
    let category = param(&pairs, "category").ok_or_else(|| {
        ApiError::invalid(
            "category",
            "",
            "a category code from GET /cases/categories",
            "missing",
        )
    })?;
    let crs = crs_param(param(&pairs, "crs"))?;
    let (lon, lat) = location(
        number(&pairs, "lon", "a longitude in degrees")?,
        number(&pairs, "lat", "a latitude in degrees")?,
        crs,
    )?;
    let suggestion = state.cases.suggested_asset(category, lon, lat)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "suggested_asset": suggestion }),
    ))
}

/// `GET /cases/calendar?year=`: working days, holidays and make-up days of a year, and the
/// working hours, as the deadlines use them.
pub async fn working_calendar(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref())?;
    check_known(&pairs, &["year"])?;
    let calendar = state.cases.calendar();
    let years = calendar.years();
    let year = match param(&pairs, "year") {
        None => crate::model::temporal::today_in_china().year(),
        Some(raw) => raw
            .parse::<i32>()
            .ok()
            .filter(|y| (1900..=2200).contains(y))
            .ok_or_else(|| ApiError::invalid("year", raw, "a year such as 2026", "not a year"))?,
    };
    let mut holidays = Vec::new();
    let mut workdays = Vec::new();
    let mut day = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    while day.year() == year {
        let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
        let working = calendar.is_working_day(day);
        if !working && !weekend {
            holidays.push(json!({ "date": day, "name": calendar.holiday_name(day) }));
        }
        if working && weekend {
            workdays.push(json!({ "date": day }));
        }
        day = day.succ_opt().unwrap_or(day);
        if day.month() == 1 && day.day() == 1 {
            break;
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "year": year,
            "covered": years.contains(&year),
            "status": calendar.year_status(year),
            "timezone": "+08:00",
            "working_hours": calendar.working_hours().iter().map(|(a, b)| format!("{}-{}", a.format("%H:%M"), b.format("%H:%M"))).collect::<Vec<_>>(),
            "holidays_on_weekdays": holidays,
            "make_up_working_days": workdays,
        }),
    ))
}
