/* newsrec blocks for the block editor: plain ES5 on WordPress's globals, no build step. The
   preview is the server's own rendering (ServerSideRender), so the editor shows what readers get. */
(function (wp) {
  "use strict";
  var el = wp.element.createElement;
  var __ = wp.i18n.__;
  var InspectorControls = wp.blockEditor.InspectorControls;
  var useBlockProps = wp.blockEditor.useBlockProps;
  var PanelBody = wp.components.PanelBody;
  var RangeControl = wp.components.RangeControl;
  var TextControl = wp.components.TextControl;
  var SelectControl = wp.components.SelectControl;
  var ServerSideRender = wp.serverSideRender;

  function edit(name, extraControls) {
    return function (props) {
      var a = props.attributes;
      var set = props.setAttributes;
      var controls = [
        el(RangeControl, {
          key: "n", label: __("Articles (0: the setting)", "newsrec"), min: 0, max: 50,
          value: a.n, onChange: function (v) { set({ n: v || 0 }); }
        }),
        el(TextControl, {
          key: "title", label: __("Heading (empty: the setting)", "newsrec"),
          value: a.title, onChange: function (v) { set({ title: v }); }
        }),
        el(RangeControl, {
          key: "level", label: __("Heading level", "newsrec"), min: 2, max: 6,
          value: a.headingLevel, onChange: function (v) { set({ headingLevel: v || 2 }); }
        })
      ].concat(extraControls ? extraControls(a, set) : []);
      return el("div", useBlockProps(),
        el(InspectorControls, null, el(PanelBody, { title: __("Settings", "newsrec") }, controls)),
        el(ServerSideRender, {
          block: name, attributes: a,
          EmptyResponsePlaceholder: function () {
            return el("p", { className: "newsrec-block-empty" },
              __("newsrec: nothing to show here now (the service has no list for this post yet, or cannot be reached).", "newsrec"));
          }
        }));
    };
  }

  wp.blocks.registerBlockType("newsrec/related", {
    edit: edit("newsrec/related"),
    save: function () { return null; }
  });

  wp.blocks.registerBlockType("newsrec/most-viewed", {
    edit: edit("newsrec/most-viewed", function (a, set) {
      return [
        el(SelectControl, {
          key: "window", label: __("Over", "newsrec"), value: a.window,
          options: [
            { label: __("The setting", "newsrec"), value: "" },
            { label: "1h", value: "1h" }, { label: "24h", value: "24h" }, { label: "1d", value: "1d" },
            { label: "7d", value: "7d" }, { label: "30d", value: "30d" }, { label: "all", value: "all" }
          ],
          onChange: function (v) { set({ window: v }); }
        }),
        el(TextControl, {
          key: "category", label: __("Only this section (empty: all)", "newsrec"),
          value: a.category, onChange: function (v) { set({ category: v }); }
        })
      ];
    }),
    save: function () { return null; }
  });
})(window.wp);
