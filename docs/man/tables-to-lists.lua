-- pandoc Lua filter for the man pages: every table becomes a definition list.
-- tbl tables overflow an 80-column terminal (CONFIG.md's directive tables have long last
-- columns), which man reports as "cannot adjust line". Here each row's first cell is the term;
-- the middle cells follow as "header: value" lines, the last cell as a paragraph of its own.
local function inlines(blocks)
  return pandoc.utils.blocks_to_inlines(blocks)
end

function Table(tbl)
  local heads = {}
  if tbl.head and tbl.head.rows and tbl.head.rows[1] then
    for i, cell in ipairs(tbl.head.rows[1].cells) do
      heads[i] = pandoc.utils.stringify(cell.contents)
    end
  end
  local items = {}
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      local cells = row.cells
      local defs = {}
      local middle = pandoc.List()
      for i = 2, #cells - 1 do
        local value = inlines(cells[i].contents)
        if #value > 0 then
          if #middle > 0 then middle:insert(pandoc.LineBreak()) end
          if heads[i] and heads[i] ~= "" then
            middle:insert(pandoc.Emph({pandoc.Str(heads[i] .. ":")}))
            middle:insert(pandoc.Space())
          end
          middle:extend(value)
        end
      end
      if #middle > 0 then table.insert(defs, pandoc.Para(middle)) end
      if #cells > 1 then
        local last = inlines(cells[#cells].contents)
        if #last > 0 then table.insert(defs, pandoc.Para(last)) end
      end
      table.insert(items, {inlines(cells[1].contents), {defs}})
    end
  end
  return pandoc.DefinitionList(items)
end

-- A "|" inside code in a Markdown table cell is written "\|" (GitHub renders it as "|"); pandoc
-- 2.17 keeps the backslash.
function Code(code)
  code.text = code.text:gsub("\\|", "|")
  return code
end
