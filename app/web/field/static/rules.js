// Checks a learner or a result as the service does, in the same order and with the same error
// types, from the rules document the service serves (/field/rules.json). The rules live there.

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const present = (value) => value !== undefined && value !== null && value !== "";
const length = (text) => [...text].length; // code points, as Python counts them

// An ISO date string, or null when it names no real day.
export function parseIsoDate(text) {
  const match = ISO_DATE.exec(text);
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return null;
  }
  return { year, month, day, text };
}

function checkString(errors, field, value, constraint = {}) {
  const text = value.trim();
  if (constraint.maxLength !== undefined && length(text) > constraint.maxLength) {
    errors.push({ field, type: "string_too_long" });
  } else if (constraint.minLength !== undefined && length(text) < constraint.minLength) {
    errors.push({ field, type: "string_too_short" });
  } else if (constraint.pattern !== undefined && !new RegExp(constraint.pattern).test(text)) {
    errors.push({ field, type: "string_pattern_mismatch" });
  }
  return text;
}

// The schema's checks: each field alone. The service checks nothing else while one fails.
function shapeErrors(learner, rules) {
  const errors = [];
  const c = rules.constraints;
  for (const field of ["citizen_id", "full_name", "birth_date", "sex", "consent"]) {
    if (!present(learner[field])) errors.push({ field, type: "missing" });
  }
  if (present(learner.citizen_id)) {
    const before = errors.length;
    const id = checkString(errors, "citizen_id", learner.citizen_id, c.citizen_id);
    if (errors.length === before && !/^[0-9]{12}$/.test(id)) {
      errors.push({ field: "citizen_id", type: "citizen_id.shape" });
    }
  }
  if (present(learner.full_name)) checkString(errors, "full_name", learner.full_name, c.full_name);
  if (present(learner.birth_date) && !parseIsoDate(learner.birth_date)) {
    errors.push({ field: "birth_date", type: "date_from_datetime_parsing" });
  }
  if (present(learner.sex) && !rules.sexes.includes(learner.sex)) {
    errors.push({ field: "sex", type: "enum" });
  }
  const groups = learner.groups ?? [rules.groups[0]];
  if (groups.length === 0) errors.push({ field: "groups", type: "too_short" });
  else if (groups.some((g) => !rules.groups.includes(g))) errors.push({ field: "groups", type: "enum" });
  if (present(learner.official_level) && !rules.official_levels.includes(learner.official_level)) {
    errors.push({ field: "official_level", type: "enum" });
  }
  if (present(learner.agency)) checkString(errors, "agency", learner.agency, c.agency);
  if (present(learner.phone)) checkString(errors, "phone", learner.phone, c.phone);
  return errors;
}

// The person's rules: birth date against today, the ID number against birth date and sex.
function personErrors(learner, rules, today) {
  const errors = [];
  const id = learner.citizen_id.trim();
  const birth = parseIsoDate(learner.birth_date);
  if (birth.text > today) errors.push({ field: "birth_date", type: "birth_date.future" });
  else if (birth.year < rules.oldest_birth_year) errors.push({ field: "birth_date", type: "birth_date.too_old" });
  if (!rules.province_codes.includes(id.slice(0, 3))) {
    errors.push({ field: "citizen_id", type: "citizen_id.province" });
  }
  const digits = rules.century_digits[String(Math.floor(birth.year / 100) * 100)] ?? [-1, -1];
  const expected = learner.sex === "male" ? digits[0] : digits[1];
  if (Number(id[3]) !== expected) errors.push({ field: "citizen_id", type: "citizen_id.century" });
  if (id.slice(4, 6) !== String(birth.year % 100).padStart(2, "0")) {
    errors.push({ field: "citizen_id", type: "citizen_id.year" });
  }
  const groups = learner.groups ?? [rules.groups[0]];
  const pairs = [["official_level", learner.official_level], ["agency", learner.agency]];
  if (groups.includes(rules.official_group)) {
    for (const [field, value] of pairs) {
      if (!present(value)) errors.push({ field, type: "official.level_required" });
    }
  } else {
    for (const [field, value] of pairs) {
      if (present(value)) errors.push({ field, type: "official.only" });
    }
  }
  return errors;
}

// Every problem with a learner, as [{field, type}]: empty when the service would take it.
// `today` is Vietnam's date as "YYYY-MM-DD"; `villageIds` the team's commune's villages.
export function checkLearner(learner, rules, { today, villageIds }) {
  const shape = shapeErrors(learner, rules);
  if (shape.length) return shape;
  const person = personErrors(learner, rules, today);
  if (person.length) return person;
  if (present(learner.village_id) && !villageIds.includes(Number(learner.village_id))) {
    return [{ field: "village_id", type: "village.other_commune" }];
  }
  return [];
}

// The schema's checks of a result: each field alone.
function completionShapeErrors(completion, rules) {
  const errors = [];
  const r = rules.completion;
  for (const field of ["course_code", "completed_at", "score", "method"]) {
    if (!present(completion[field])) errors.push({ field, type: "missing" });
  }
  if (present(completion.course_code) && !new RegExp(r.course_code.pattern).test(completion.course_code.trim())) {
    errors.push({ field: "course_code", type: "string_pattern_mismatch" });
  }
  if (present(completion.completed_at)) {
    const day = parseIsoDate(completion.completed_at.trim());
    if (!day) errors.push({ field: "completed_at", type: "datetime_from_date_parsing" });
    else if (day.text < r.first_day || day.text > r.last_day) errors.push({ field: "completed_at", type: "date.range" });
  }
  const { score } = completion;
  if (present(score)) {
    if (typeof score !== "number" || Number.isNaN(score)) errors.push({ field: "score", type: "float_parsing" });
    else if (score < r.score.minimum) errors.push({ field: "score", type: "greater_than_equal" });
    else if (score > r.score.maximum) errors.push({ field: "score", type: "less_than_equal" });
  }
  if (present(completion.method) && !r.methods.includes(completion.method)) {
    errors.push({ field: "method", type: "enum" });
  }
  return errors;
}

// Every problem with a result, as [{field, type}]: empty when the service would take it.
// `today` is Vietnam's date as "YYYY-MM-DD"; `courses` the catalog as [{code, active}];
// `birthDate` the learner's ("YYYY-MM-DD"), when known.
export function checkCompletion(completion, rules, { today, courses, birthDate }) {
  const shape = completionShapeErrors(completion, rules);
  if (shape.length) return shape;
  const errors = [];
  const course = courses.find((item) => item.code === completion.course_code.trim());
  if (!course) errors.push({ field: "course_code", type: "course.unknown" });
  else if (!course.active) errors.push({ field: "course_code", type: "course.inactive" });
  const day = completion.completed_at.trim();
  if (day > today) errors.push({ field: "completed_at", type: "completion.future" });
  if (birthDate && day < birthDate) errors.push({ field: "completed_at", type: "completion.before_birth" });
  return errors;
}

// The service's own words for an error type.
export function message(rules, type, lang) {
  const entry = rules.messages[type];
  return entry ? entry[lang] ?? entry.vi : type;
}
