//! Cases over HTTP: reporting (JSON or a multipart tablet form with photos), listing, the case
//! page, actions, "my tasks", overdue cases, the hazard register, metrics, categories, the
//! working calendar, photos and a server-sent event stream of changes.
//!
//! Every route here needs a bearer token (cases and photos are never readable anonymously),
//! except the category list and the calendar, which are reference data.
//!
//! Handlers and their request types (queries in [`params`], response shapes in [`schemas`]):
//! `GET /cases` [`list_cases`] ([`params::CasesParams`]); `POST /cases` [`report_case`] (JSON
//! [`schemas::ReportBody`] or a [`schemas::ReportForm`], `Idempotency-Key`); `GET /cases/{id}`
//! [`get_case`]; `POST /cases/{id}/actions` [`act_on_case`] ([`schemas::ActionBody`],
//! `If-Match`); `GET /cases/suggested-asset` [`suggested_asset`]
//! ([`params::SuggestedAssetParams`]); `GET /cases/overdue` [`overdue_cases`];
//! `GET /cases/hazards` [`hazard_register`] ([`params::HazardsParams`]); `GET /cases/metrics`
//! [`case_metrics`] ([`params::MetricsParams`]); `GET /cases/events` [`case_events`]
//! ([`params::EventsParams`]); `GET /cases/categories` [`list_categories`];
//! `GET /cases/calendar` [`working_calendar`] ([`params::CalendarParams`]); `GET /tasks`
//! [`my_tasks`]; `POST /photos` [`upload_photo`] (raw image or [`schemas::PhotoForm`]);
//! `GET /photos/{id}` [`photo`].

use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::auth::{Actor, Remote};
use super::extract::Query;
use super::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    Unprocessable, UnsupportedMediaType,
};
use super::spatial::{crs_param, object, reject_unknown_members};
use super::{ApiError, AppState, media, with_type};
use crate::model::case::{Action, AssetRef, Case, ReadScope};
use crate::model::user::Role;
use crate::model::user::User;
use crate::service::cases::metrics::{GroupBy, MetricsRow};
use crate::service::cases::{
    ActionRequest, CaseError, HazardRegister, MetricsReport, MetricsWindow, NewReport, Overdue,
    Reported, Reporter,
};
use crate::service::photos::{MAX_PHOTO_BYTES, MAX_PHOTOS_PER_CASE};

mod events;
mod params;
mod schemas;

use events::{__path_case_events, case_events};
use params::{
    CalendarParams, CasesParams, HazardsParams, MetricsParams, SuggestedAssetParams, location,
};
use schemas::{
    Acted, ActionBody, Calendar, CaseFeatureCollection, CaseList, CasePage, Categories, Hazards,
    Metrics, OverdueList, PhotoForm, ReportBody, ReportForm, Suggested, TaskList, UploadedPhoto,
};

/// Largest JSON body of a report or an action.
const MAX_JSON_BYTES: usize = 64 * 1024;
/// Largest multipart report: six photos and the form.
const MAX_FORM_BYTES: usize = MAX_PHOTOS_PER_CASE * MAX_PHOTO_BYTES + 64 * 1024;
/// Largest photo upload: the photo and a form around it.
const MAX_PHOTO_UPLOAD_BYTES: usize = MAX_PHOTO_BYTES + 64 * 1024;

/// The case routes; each handler asks for the token it needs.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(report_case))
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .routes(routes!(list_categories))
        .routes(routes!(suggested_asset))
        .routes(routes!(working_calendar))
        .routes(routes!(overdue_cases))
        .routes(routes!(hazard_register))
        .routes(routes!(case_metrics))
        .routes(routes!(case_events))
        .routes(routes!(get_case))
        .routes(routes!(act_on_case))
        .routes(routes!(my_tasks))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload_photo))
                .layer(DefaultBodyLimit::max(MAX_PHOTO_UPLOAD_BYTES)),
        )
        .routes(routes!(photo))
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

/// Report a case (JSON, or a multipart tablet form with `photo` parts)
///
/// A report as JSON (photos uploaded before with `POST /photos`) or as a `multipart/form-data`
/// tablet form whose `photo` parts are the pictures.
#[utoipa::path(post, path = "/cases", operation_id = "reportCase", tag = "Cases",
    params(("Idempotency-Key" = Option<String>, Header, max_length = 200,
        description = "Sent again on a retry, it returns the first case instead of making a second")),
    request_body(content(
        (ReportBody = "application/json", example = json!({ "category": "0103", "lon": 113.69, "lat": 34.745, "description": "雨水井盖破损 a broken rain-water cover" })),
        (ReportForm = "multipart/form-data"))),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "The case, probable duplicates within 50 m and a suggested asset within 15 m", body = schemas::Reported),
        (status = 200, description = "The case an earlier request with the same Idempotency-Key made", body = schemas::Reported),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType), (status = 422, response = Unprocessable)))]
pub async fn report_case(
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
    let reported = if is_form {
        report_by_form(&state, user, remote, request).await?
    } else {
        let headers = request.headers().clone();
        let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|e| super::error::body_error(&e, MAX_JSON_BYTES))?;
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::invalid("body", "", "a JSON object", e.to_string()))?;
        let mut report = report_from_json(&body, &headers)?;
        report.remote = remote;
        state.cases.report(&Reporter::User(user), report).await?
    };
    Ok(reported_response(&reported, &state))
}

/// A report from a tablet form: the photos are stored only once the rest of the report has
/// been checked, so that a refused report leaves nothing.
async fn report_by_form(
    state: &AppState,
    user: User,
    remote: Option<String>,
    request: Request,
) -> Result<Reported, ApiError> {
    let headers = request.headers().clone();
    let multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::invalid("body", "", "multipart/form-data", e.body_text()))?;
    let (mut report, photos) = report_from_form(multipart, &headers).await?;
    report.remote.clone_from(&remote);
    let cases = &state.cases;
    let who = Reporter::User(user.clone());
    cases.prepare(&who, &report)?;
    for data in photos {
        let photo = cases.upload_photo(&user, data, remote.clone()).await?;
        if !report.photos.contains(&photo.sha256) {
            report.photos.push(photo.sha256);
        }
    }
    Ok(cases.report(&who, report).await?)
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

/// Upload a photo (JPEG, PNG or WebP by content, ≤ 10 MB, ≤ 50 megapixels; location metadata stripped)
///
/// The raw body (`Content-Type: image/jpeg|png|webp`) or a `multipart/form-data` form of one
/// file part (any name, e.g. `curl -F photo=@x.jpg`); the content decides, not the header.
/// Roles that report or act on cases only; per-user quota per 24 hours. Returns its id for a
/// report or an action.
#[utoipa::path(post, path = "/photos", operation_id = "uploadPhoto", tag = "Cases",
    request_body(content(("image/jpeg"), ("image/png"), ("image/webp"), (PhotoForm = "multipart/form-data"))),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "The photo's id", body = UploadedPhoto),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType), (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests)))]
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

/// A photo
///
/// A stored photo (signed-in users only), with `X-Content-Type-Options: nosniff`,
/// `Content-Security-Policy: default-src 'none'; sandbox` and
/// `Content-Disposition: inline; filename="<id>.<ext>"`.
#[utoipa::path(get, path = "/photos/{id}", operation_id = "getPhoto", tag = "Cases",
    params(("id" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The photo id",
        example = "0000000000000000000000000000000000000000000000000000000000000000")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The image", content(("image/jpeg"), ("image/png"), ("image/webp"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)))]
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

/// The case page: case, log, deadlines and the caller's possible actions
///
/// Only within the caller's read scope (workers: their cells; handlers: cases dispatched to
/// their unit; everyone: what they reported; other roles: all); `reporter` and the reporter's
/// log entries read `withheld` except for admins, dispatchers, supervisors and the reporter.
#[utoipa::path(get, path = "/cases/{id}", operation_id = "getCase", tag = "Cases",
    params(("id" = i64, Path, minimum = 1, description = "The case number")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The case", body = CasePage),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 404, response = NotFound)))]
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

/// Take an action on a case
///
/// `{action, note?, photos?, unit?, amount?, into?, asset?, version?}` (`asset` with
/// `link_asset`: `{collection, id}` to link, `null` to clear). `version` (or `If-Match: "N"`)
/// makes the action conditional on the case being unchanged.
#[utoipa::path(post, path = "/cases/{id}/actions", operation_id = "actOnCase", tag = "Cases",
    params(("id" = i64, Path, minimum = 1, description = "The case number"),
        ("If-Match" = Option<String>, Header, description = "The version the caller saw, e.g. \"3\"")),
    request_body(content((ActionBody = "application/json"))),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The case after the action", body = Acted),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden), (status = 404, response = NotFound),
        (status = 409, response = Conflict), (status = 422, response = Unprocessable)))]
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
    let mut request = action_request(object(&body)?, &headers)?;
    request.remote = remote;
    let case = match state.cases.act(&user, id, request).await {
        Ok(case) => case,
        Err(error) => return Err(action_refusal(error, id, &user)),
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

/// A refused action as `user` may learn of it: the case as it now is goes only to those who
/// may read it, as they may read it.
fn action_refusal(error: CaseError, id: i64, user: &User) -> ApiError {
    match error {
        CaseError::Conflict(current) if !ReadScope::of(user).admits_case(&current) => {
            CaseError::NotFound(id).into()
        }
        CaseError::Conflict(current) => {
            CaseError::Conflict(Box::new(current.redacted_for(user))).into()
        }
        other => other.into(),
    }
}

/// The version the action is conditional on: `version` in the body, else `If-Match`.
fn expected_version(
    body: &Map<String, Value>,
    headers: &HeaderMap,
) -> Result<Option<i64>, ApiError> {
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_owned()
        });
    Ok(match (body.get("version"), if_match) {
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
    })
}

/// An action parsed from its JSON body ([`ActionBody`]) and `If-Match`: every member checked.
fn action_request(
    body: &Map<String, Value>,
    headers: &HeaderMap,
) -> Result<ActionRequest, ApiError> {
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
    let expected_version = expected_version(body, headers)?;
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
    Ok(ActionRequest {
        asset: asset_member(body)?,
        action,
        note: text_member(body, "note")?.map(str::to_owned),
        photos: photo_ids(body)?,
        unit: text_member(body, "unit")?.map(str::to_owned),
        amount: number_member(body, "amount")?,
        into,
        expected_version,
        remote: None,
    })
}

fn case_list(cases: &[Case], matched: u64, user: &User) -> Value {
    json!({
        "number_matched": matched,
        "number_returned": cases.len(),
        "cases": cases.iter().map(|c| case_json_for(c, user)).collect::<Vec<_>>(),
    })
}

fn case_collection(cases: &[Case], matched: u64, now: DateTime<Utc>) -> Response {
    let body = json!({
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": cases.len(),
        "features": cases.iter().map(|c| case_feature(c, now)).collect::<Vec<_>>(),
    });
    let mut response = json_response(StatusCode::OK, &body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media::GEOJSON),
    );
    response
}

/// Cases, newest first or by deadline
///
/// The cases in the caller's read scope that the parameters select, and how many match.
#[utoipa::path(get, path = "/cases", operation_id = "getCases", tag = "Cases",
    params(CasesParams), security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The cases and how many match", content(
            (CaseList = "application/json"), (CaseFeatureCollection = "application/geo+json"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized)))]
pub async fn list_cases(
    State(state): State<AppState>,
    Actor(user): Actor,
    Query(params): Query<CasesParams>,
) -> Result<Response, ApiError> {
    let now = state.cases.now();
    let geojson = params.geojson();
    let (cases, matched) = state.cases.find(&params.case_query(&user, now)).await?;
    Ok(if geojson {
        case_collection(&cases, matched, now)
    } else {
        json_response(StatusCode::OK, &case_list(&cases, matched, &user))
    })
}

fn overdue_list(overdue: &Overdue, user: &User) -> Value {
    let rows: Vec<Value> = overdue
        .cases
        .iter()
        .map(|c| {
            let mut v = case_json_for(c, user);
            v["overdue_hours"] = json!(c.due_at.map(|d| {
                ((overdue.as_of - d).num_minutes() as f64 / 60.0 * 10.0).round() / 10.0
            }));
            v
        })
        .collect();
    json!({ "as_of": overdue.as_of, "number_matched": overdue.matched, "cases": rows })
}

/// Open cases past their deadline
///
/// Earliest deadline first, within the caller's read scope.
#[utoipa::path(get, path = "/cases/overdue", operation_id = "getOverdueCases", tag = "Cases",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Open cases past their deadline", body = OverdueList),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden)))]
pub async fn overdue_cases(
    State(state): State<AppState>,
    Actor(user): Actor,
) -> Result<Response, ApiError> {
    let overdue = state.cases.overdue(&user).await?;
    Ok(json_response(
        StatusCode::OK,
        &overdue_list(&overdue, &user),
    ))
}

/// The caller's tasks, earliest deadline first
#[utoipa::path(get, path = "/tasks", operation_id = "getTasks", tag = "Cases",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller's tasks, earliest deadline first", body = TaskList),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden)))]
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

fn hazard_rows(register: &HazardRegister) -> Vec<Value> {
    register
        .lines
        .iter()
        .map(|line| {
            let mut v = serde_json::to_value(&line.hazard).unwrap_or(Value::Null);
            if let Some(properties) = &line.asset_properties {
                v["asset_properties"] = Value::Object(properties.clone());
            }
            v
        })
        .collect()
}

/// The hazard register (隐患清单): assets with repeated cases
#[utoipa::path(get, path = "/cases/hazards", operation_id = "getHazards", tag = "Cases",
    params(HazardsParams), security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The hazard register (隐患清单): assets with repeated cases", body = Hazards),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden)))]
pub async fn hazard_register(
    State(state): State<AppState>,
    Actor(user): Actor,
    Query(params): Query<HazardsParams>,
) -> Result<Response, ApiError> {
    let register = state
        .cases
        .hazards(&user, params.period(), params.min_case_count())
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "since": register.since, "min_cases": params.min_cases, "hazards": hazard_rows(&register) }),
    ))
}

/// Evaluation: received, filed, due, closed, 结案率, 按期结案率, 返工率, 延期率, median time to close
///
/// Grouped by street, community, grid, unit or category, over a window (`f=csv` for a table).
#[utoipa::path(get, path = "/cases/metrics", operation_id = "getCaseMetrics", tag = "Cases",
    params(MetricsParams), security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The metrics per group and in total", content(
            (Metrics = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden)))]
pub async fn case_metrics(
    State(state): State<AppState>,
    Actor(user): Actor,
    Query(params): Query<MetricsParams>,
) -> Result<Response, ApiError> {
    user_may_read_metrics(&user)?;
    let window = params.window(state.cases.now())?;
    let report = state.cases.metrics(&user, params.group_by, window).await?;
    Ok(if params.csv() {
        with_type(metrics_csv(&report), "text/csv; charset=utf-8")
    } else {
        json_response(
            StatusCode::OK,
            &metrics_json(&report, params.group_by, window),
        )
    })
}

fn metrics_json(report: &MetricsReport, group_by: Option<GroupBy>, window: MetricsWindow) -> Value {
    json!({
        "from": window.from, "to": window.to, "as_of": report.as_of,
        "group_by": group_by.map(GroupBy::as_str),
        "definitions": "received: reported in the window; due (应结案): dispatched cases whose handling deadline fell in the window and has passed, or closed in the window; closure_rate = closed/due; on_time_rate = closed on time/due; rework_rate = handled cases that failed a verification / handled; extension_rate = dispatched cases granted an extension / dispatched",
        "groups": report.groups,
        "total": report.total,
    })
}

fn metrics_csv(report: &MetricsReport) -> String {
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
    let rows: Vec<&MetricsRow> = report
        .groups
        .iter()
        .chain(std::iter::once(&report.total))
        .collect();
    for row in rows {
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
    table.finish()
}

fn user_may_read_metrics(user: &crate::model::user::User) -> Result<(), ApiError> {
    if matches!(user.role, Role::Handler | Role::Worker) {
        return Err(ApiError::Forbidden(
            "metrics are for the command centre, supervisors, analysts, viewers and admins".into(),
        ));
    }
    Ok(())
}

/// Case categories (部件/事件) with conditions, responsible unit kind and time limits
#[utoipa::path(get, path = "/cases/categories", operation_id = "getCaseCategories", tag = "Cases",
    security(()),
    responses((status = 200, description = "The categories", body = Categories)))]
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

/// The asset a report of this category here would be suggested (for the report form to confirm)
///
/// The asset a report would be suggested, so a form can offer it before sending (null if none).
#[utoipa::path(get, path = "/cases/suggested-asset", operation_id = "getSuggestedAsset", tag = "Cases",
    params(SuggestedAssetParams), security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "`suggested_asset`: {collection, id, distance_m}, or null", body = Suggested),
        (status = 400, response = BadRequest), (status = 401, response = Unauthorized)))]
pub async fn suggested_asset(
    State(state): State<AppState>,
    Actor(_): Actor,
    Query(params): Query<SuggestedAssetParams>,
) -> Result<Response, ApiError> {
    let suggestion = state
        .cases
        .suggested_asset(&params.category, params.lon, params.lat)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "suggested_asset": suggestion }),
    ))
}

/// Holidays, make-up working days and working hours used by deadlines
///
/// Working days, holidays and make-up days of a year, and the working hours, as the deadlines
/// use them.
#[utoipa::path(get, path = "/cases/calendar", operation_id = "getWorkingCalendar", tag = "Cases",
    params(CalendarParams), security(()),
    responses(
        (status = 200, description = "The year's calendar", body = Calendar),
        (status = 400, response = BadRequest)))]
pub async fn working_calendar(
    State(state): State<AppState>,
    Query(params): Query<CalendarParams>,
) -> Result<Response, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &calendar_json(state.cases.calendar(), params.year),
    ))
}

fn calendar_json(calendar: &crate::model::calendar::WorkCalendar, year: i32) -> Value {
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
    json!({
        "year": year,
        "covered": calendar.years().contains(&year),
        "status": calendar.year_status(year),
        "timezone": "+08:00",
        "working_hours": calendar.working_hours().iter().map(|(a, b)| format!("{}-{}", a.format("%H:%M"), b.format("%H:%M"))).collect::<Vec<_>>(),
        "holidays_on_weekdays": holidays,
        "make_up_working_days": workdays,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_generated_document_has_every_case_operation() {
        let paths = &crate::api::generated_document()["paths"];
        for (path, method, operation_id) in [
            ("/cases", "get", "getCases"),
            ("/cases", "post", "reportCase"),
            ("/cases/{id}", "get", "getCase"),
            ("/cases/{id}/actions", "post", "actOnCase"),
            ("/cases/suggested-asset", "get", "getSuggestedAsset"),
            ("/cases/overdue", "get", "getOverdueCases"),
            ("/cases/hazards", "get", "getHazards"),
            ("/cases/metrics", "get", "getCaseMetrics"),
            ("/cases/events", "get", "getCaseEvents"),
            ("/cases/categories", "get", "getCaseCategories"),
            ("/cases/calendar", "get", "getWorkingCalendar"),
            ("/tasks", "get", "getTasks"),
            ("/photos", "post", "uploadPhoto"),
            ("/photos/{id}", "get", "getPhoto"),
        ] {
            assert_eq!(
                paths[path][method]["operationId"], operation_id,
                "{method} {path}"
            );
        }
    }
}
