// Sorting, filters and search for the tables the site renders at build time (they read without this script).
// Everything read from a cell is text (textContent, dataset); nothing is ever parsed as HTML.
"use strict";

function cellValue(row, column) {
  const cell = row.cells[column];
  if (!cell) return "";
  return cell.dataset.sort !== undefined ? Number(cell.dataset.sort) : cell.textContent.trim();
}

function compare(a, b) {
  const blankA = a === "", blankB = b === "";
  if (blankA || blankB) return blankA - blankB;  // blanks last whatever the direction
  return typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
}

function sortBy(table, header, column) {
  const descending = header.getAttribute("aria-sort") === "ascending";
  for (const th of table.tHead.rows[0].cells) th.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((r1, r2) => {
    const a = cellValue(r1, column), b = cellValue(r2, column);
    if (a === "" || b === "") return compare(a, b);
    return descending ? compare(b, a) : compare(a, b);
  });
  body.append(...rows);
}

function applyFilters(table, filters, search) {
  const words = search ? search.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
  for (const row of table.tBodies[0].rows) {
    const text = row.textContent.toLowerCase();
    const shown = filters.every(([column, select]) => !select.value || row.cells[column].textContent.trim() === select.value)
      && words.every((word) => text.includes(word));
    row.hidden = !shown;
  }
}

function labelled(text, control) {
  const label = document.createElement("label");
  label.append(text + " ", control);
  return label;
}

function enhance(table) {
  const headers = Array.from(table.tHead.rows[0].cells);
  const controls = document.createElement("div");
  controls.className = "controls";
  const filters = [];
  let search = null;
  const update = () => applyFilters(table, filters, search);
  if (table.hasAttribute("data-searchable")) {
    search = document.createElement("input");
    search.type = "search";
    search.placeholder = "model, method, ...";
    search.addEventListener("input", update);
    controls.append(labelled("Search", search));
  }
  headers.forEach((header, column) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = header.textContent;
    header.textContent = "";
    header.append(button);
    button.addEventListener("click", () => sortBy(table, header, column));
    if (!header.hasAttribute("data-filter")) return;
    const values = new Set(Array.from(table.tBodies[0].rows, (row) => row.cells[column].textContent.trim()));
    const select = document.createElement("select");
    select.append(new Option("all", ""));
    for (const value of Array.from(values).filter(Boolean).sort()) select.append(new Option(value, value));
    select.addEventListener("change", update);
    filters.push([column, select]);
    controls.append(labelled(button.textContent, select));
  });
  table.closest(".table-box").before(controls);
}

document.querySelectorAll("table[data-interactive]").forEach(enhance);
