// Package open311 maps Whistle's categories and cases onto Open311
// GeoReport v2 (and mySociety's servicerequestupdates extension) and
// encodes the documents in JSON and XML. Service holds the endpoint's
// logic (the service list, submitting with the API key's rate, region and
// services, reading with the standard's filters, updates); the HTTP
// handlers in internal/web (api_open311.go) only decode, call it and
// encode. ../shared/specs/open311.md summarises the standard. The choices this endpoint makes where the standard leaves room:
//
// Formats. The format is the extension of the last path segment:
// services.xml, requests/WS20261123000001.json. Collection documents need
// the extension; an item without one (requests/WS20261123000001) is JSON,
// and so is every error under /open311/ whose format cannot be told. XML
// starts with <?xml version="1.0" encoding="UTF-8"?>, has no namespace, and
// wraps lists in their root element (services → service, service_requests →
// request, service_request_updates → request_update, errors → error); JSON
// is the bare array or object. Empty values are an empty element in XML;
// in JSON an empty text is "", but an empty typed value (a date-time such
// as expected_datetime, a URI such as media_url) is null, since "" is
// neither (Typed); lat and long are numbers.
//
// Services. One service per active category whose Open311 flag is set (by
// default every leaf): service_code is the category code, group the parent
// category's name, keywords the category's name in the other language and
// its ancestors' names, type realtime, metadata true when the category has
// extra fields. Those fields are the attributes of services/{code}: code is
// the field key, description its label, order its position (1 first).
// Names follow the request's language (zh-CN by default, en with
// Accept-Language: en or ?lang=en), as everywhere in Whistle.
//
// Requests. service_request_id is the case number (e.g. WS20261123000001).
// Only public cases appear. status is open or closed (closed = closed,
// rejected, declined or merged); status_notes is the latest note of a
// public step (the resident's rating comment is never shown);
// agency_responsible the handling department, or the community while no
// department handles the case; updated_datetime the last change, or the
// closing time once closed; expected_datetime the current deadline;
// address_id the grid code; media_url the first photo of the public
// timeline, served by GET /api/v1/public/cases/{id}/photos/{pid}. Times are
// ISO 8601 in China Standard Time with its offset, e.g.
// 2026-11-23T10:00:00+08:00. The reporter's name, phone and e-mail never
// appear.
//
// Creating a request needs an API key (403 without a valid one) and a
// form-encoded (or multipart) body; any other body is a 400. The
// location is lat and long in WGS-84, or address_id: the code of a region
// (grid, community or street, from GET /api/v1/regions/…), placed at its
// interior point. There is no geocoder, so address_string alone is refused
// with 400; with a location it is stored as the address. description is
// required (at most 2,000 characters; surrounding blanks are trimmed).
// Attributes are checked against the definition, and a list value must be
// one of its keys. A valid mainland mobile number in phone is kept as the
// reporter's phone (masked in staff views, never shown publicly); email,
// first_name, last_name, device_id and media_url are not stored. An
// Idempotency-Key header makes a retry return the first case. Each created
// request is written to the audit log as open311.request by
// apikey:<key name>, in the case's own transaction (casework writes it
// for a context made with WithClient).
//
// Tokens. Every service is realtime, so POST answers service_request_id at
// once and never a token. tokens/{token} still answers for clients that
// poll: a token is the service_request_id itself.
//
// Filters of GET requests: service_request_id (a comma list, at most 1000,
// overriding every other filter), service_code (comma list), status (open,
// closed or both), start_date and end_date (on requested_datetime, both
// inclusive, W3C date-times that must carry a zone; a span over 90 days is
// refused with 400; one date alone opens a 90-day window from or to it;
// neither means the last 90 days), and the page (1-based) and page_size
// (default and maximum 1000) extension. Newest first.
//
// Updates (servicerequestupdates). GET lists the public steps of public
// cases between start_date and end_date (same rules as above; at most 1000,
// oldest first; continue from the last updated_datetime, which comes again:
// update_id tells updates apart). update_id is the step's id, description
// its public note, external_status_code our own state, and status the
// extended status of ExtendedStatus (StatusTable):
//
//	submitted                      open
//	accepted, registered           investigating
//	claimable, dispatched          action_scheduled
//	in_progress, resolved          in_progress
//	verified, closed               fixed
//	rejected                       no_further_action
//	declined                       not_councils_responsibility
//	merged                         duplicate
//	suspended                      investigating
//	return (退单) to registered     internal_referral
//	rate (1–2 stars) reopening     reopen
//
// POST adds an update
// only where the workflow lets the system act: status FIXED or CLOSED on a
// 红哨 case that staff have verified closes it, with the description as the
// note (a repeat on the closed case answers the same update_id). Every
// other update is refused with 400 explaining why: staff act on cases in
// Whistle itself.
//
// Errors are {code, description} lists: 400 for a missing or invalid
// parameter (and, as the standard asks, for failures on our side, with code
// 500 in the body), 403 for a missing, unknown or revoked api_key, 404 for
// an unknown service, request or token, and 429 with Retry-After when an
// API key exceeds its rate (a token bucket per key, package ratelimit).
// jurisdiction_id is accepted and ignored: one endpoint serves one
// district.
package open311
