// Reads an iCalendar feed on stdin and writes, as JSON on stdout, what a JavaScript calendar
// built on ical.js would show: the calendar's name and refresh hints, and each event with its
// times in UTC (zoned times are read through the feed's own VTIMEZONE blocks, registered with
// ical.js's timezone service; run under TZ=UTC so that a zone it could not resolve shows).
import ICAL from "ical.js";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;

const calendar = new ICAL.Component(ICAL.parse(text));
const zones = [];
for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
  const zone = new ICAL.Timezone(vtimezone);
  ICAL.TimezoneService.register(zone, zone.tzid);
  zones.push(zone.tzid);
}

const when = (time) => (time.isDate ? time.toString() : time.toJSDate().toISOString());
const address = (property) =>
  property && {
    value: property.getFirstValue(),
    cn: property.getParameter("cn") ?? null,
    partstat: property.getParameter("partstat") ?? null,
  };

const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description ?? null,
    location: event.location ?? null,
    url: component.getFirstPropertyValue("url"),
    sequence: event.sequence,
    status: component.getFirstPropertyValue("status"),
    all_day: event.startDate.isDate,
    start: when(event.startDate),
    end: when(event.endDate),
    zone: event.startDate.isDate ? null : event.startDate.zone.tzid,
    dtstamp: component.getFirstPropertyValue("dtstamp").toJSDate().toISOString(),
    organizer: address(component.getFirstProperty("organizer")),
    attendees: component.getAllProperties("attendee").map(address),
  };
});

const refresh = calendar.getFirstProperty("refresh-interval");
process.stdout.write(
  JSON.stringify({
    name: calendar.getFirstPropertyValue("x-wr-calname"),
    refresh_interval: refresh && refresh.getFirstValue().toString(),
    refresh_type: refresh && refresh.type,
    published_ttl: calendar.getFirstPropertyValue("x-published-ttl"),
    zones,
    events,
  }),
);
