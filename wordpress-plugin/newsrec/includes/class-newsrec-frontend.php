<?php
/**
 * What readers see: the blocks and shortcodes "You might also like" and "Most viewed",
 * rendered on the server (cached in transients for a minute), placed after single posts when
 * the site wants it, refreshed in the browser by the service's widget, and the view beacon.
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Blocks, shortcodes, automatic placement and scripts.
 */
class Newsrec_Frontend {

	/**
	 * Hooks in.
	 */
	public static function init() {
		add_action( 'init', array( __CLASS__, 'register' ) );
		add_filter( 'the_content', array( __CLASS__, 'after_content' ), 20 );
		add_action( 'wp_enqueue_scripts', array( __CLASS__, 'enqueue' ) );
		// `async` for the widget: the `strategy` argument of wp_register_script exists only from WordPress 6.3.
		add_filter( 'script_loader_tag', array( __CLASS__, 'script_tag' ), 10, 2 );
	}

	/**
	 * Registers the blocks (dynamic: rendered by PHP) and the shortcodes.
	 */
	public static function register() {
		wp_register_script(
			'newsrec-blocks',
			plugins_url( 'assets/blocks.js', NEWSREC_FILE ),
			array( 'wp-blocks', 'wp-element', 'wp-i18n', 'wp-block-editor', 'wp-components', 'wp-server-side-render' ),
			NEWSREC_VERSION,
			true
		);
		wp_set_script_translations( 'newsrec-blocks', 'newsrec' );
		register_block_type(
			NEWSREC_DIR . 'blocks/related',
			array( 'render_callback' => array( __CLASS__, 'render_related_block' ) )
		);
		register_block_type(
			NEWSREC_DIR . 'blocks/most-viewed',
			array( 'render_callback' => array( __CLASS__, 'render_most_viewed_block' ) )
		);
		add_shortcode( 'newsrec_related', array( __CLASS__, 'related_shortcode' ) );
		add_shortcode( 'newsrec_most_viewed', array( __CLASS__, 'most_viewed_shortcode' ) );
	}

	/**
	 * "You might also like" of a post.
	 *
	 * @param array $args post_id, n, title, heading_level.
	 * @return string HTML, '' when there is nothing to show or the service cannot answer.
	 */
	public static function related( array $args ) {
		$settings = Newsrec_Settings::get();
		$post_id  = (int) ( $args['post_id'] ?? 0 );
		if ( empty( $settings['related_enabled'] ) || $post_id <= 0 ) {
			return '';
		}
		$n     = self::n( $args['n'] ?? 0, $settings );
		$items = ( new Newsrec_Client( $settings ) )->related( $post_id, $n );
		if ( null === $items ) {
			return '';
		}
		return Newsrec_Renderer::render(
			'related',
			$items,
			array(
				'article_id'    => (string) $post_id,
				'n'             => $n,
				'title'         => self::title( $args['title'] ?? '', $settings['related_title'], __( 'You might also like', 'newsrec' ) ),
				'heading_level' => (int) ( $args['heading_level'] ?? 2 ),
				'widget'        => ! empty( $settings['widget'] ),
				'format_date'   => array( __CLASS__, 'format_date' ),
			)
		);
	}

	/**
	 * "Most viewed".
	 *
	 * @param array $args n, window, category, title, heading_level.
	 * @return string HTML, '' when there is nothing to show or the service cannot answer.
	 */
	public static function most_viewed( array $args ) {
		$settings = Newsrec_Settings::get();
		if ( empty( $settings['most_viewed_enabled'] ) ) {
			return '';
		}
		$n      = self::n( $args['n'] ?? 0, $settings );
		$window = (string) ( $args['window'] ?? '' );
		$window = in_array( $window, Newsrec_Settings::WINDOWS, true ) ? $window : $settings['window'];
		$cat    = sanitize_text_field( (string) ( $args['category'] ?? '' ) );
		$items  = ( new Newsrec_Client( $settings ) )->most_viewed( $n, $window, $cat );
		if ( null === $items ) {
			return '';
		}
		return Newsrec_Renderer::render(
			'most-viewed',
			$items,
			array(
				'n'             => $n,
				'window'        => $window,
				'category'      => $cat,
				'title'         => self::title( $args['title'] ?? '', $settings['most_viewed_title'], __( 'Most viewed', 'newsrec' ) ),
				'heading_level' => (int) ( $args['heading_level'] ?? 2 ),
				'widget'        => ! empty( $settings['widget'] ),
				'format_date'   => array( __CLASS__, 'format_date' ),
			)
		);
	}

	/**
	 * How many items: the block's own number, else the setting.
	 *
	 * @param mixed $value    Given number.
	 * @param array $settings Settings.
	 * @return int
	 */
	private static function n( $value, array $settings ) {
		$n = (int) $value;
		return ( $n >= 1 && $n <= 50 ) ? $n : (int) $settings['n'];
	}

	/**
	 * The heading: the block's own, else the setting, else the default.
	 *
	 * @param mixed  $given   Block or shortcode attribute.
	 * @param string $setting Setting.
	 * @param string $default Translated default.
	 * @return string
	 */
	private static function title( $given, $setting, $default ) {
		foreach ( array( (string) $given, (string) $setting ) as $title ) {
			if ( '' !== trim( $title ) ) {
				return trim( $title );
			}
		}
		return $default;
	}

	/**
	 * A date in the site's format and time zone.
	 *
	 * @param int $time Unix time.
	 * @return string
	 */
	public static function format_date( $time ) {
		return (string) wp_date( get_option( 'date_format' ), (int) $time );
	}

	/**
	 * Block newsrec/related.
	 *
	 * @param array         $attributes Block attributes.
	 * @param string        $content    Inner content (none).
	 * @param WP_Block|null $block      The block, whose context names the post in a query loop.
	 * @return string
	 */
	public static function render_related_block( $attributes, $content = '', $block = null ) {
		$post_id = ( $block instanceof WP_Block && ! empty( $block->context['postId'] ) ) ? (int) $block->context['postId'] : (int) get_the_ID();
		return self::related(
			array(
				'post_id'       => $post_id,
				'n'             => $attributes['n'] ?? 0,
				'title'         => $attributes['title'] ?? '',
				'heading_level' => $attributes['headingLevel'] ?? 2,
			)
		);
	}

	/**
	 * Block newsrec/most-viewed.
	 *
	 * @param array $attributes Block attributes.
	 * @return string
	 */
	public static function render_most_viewed_block( $attributes ) {
		return self::most_viewed(
			array(
				'n'             => $attributes['n'] ?? 0,
				'window'        => $attributes['window'] ?? '',
				'category'      => $attributes['category'] ?? '',
				'title'         => $attributes['title'] ?? '',
				'heading_level' => $attributes['headingLevel'] ?? 2,
			)
		);
	}

	/**
	 * [newsrec_related n="5" title="..." id="123"].
	 *
	 * @param array|string $atts Shortcode attributes.
	 * @return string
	 */
	public static function related_shortcode( $atts ) {
		$atts = shortcode_atts(
			array(
				'id'            => 0,
				'n'             => 0,
				'title'         => '',
				'heading_level' => 2,
			),
			$atts,
			'newsrec_related'
		);
		return self::related(
			array(
				'post_id'       => (int) $atts['id'] > 0 ? (int) $atts['id'] : (int) get_the_ID(),
				'n'             => $atts['n'],
				'title'         => $atts['title'],
				'heading_level' => $atts['heading_level'],
			)
		);
	}

	/**
	 * [newsrec_most_viewed n="5" window="24h" category="sports" title="..."].
	 *
	 * @param array|string $atts Shortcode attributes.
	 * @return string
	 */
	public static function most_viewed_shortcode( $atts ) {
		$atts = shortcode_atts(
			array(
				'n'             => 0,
				'window'        => '',
				'category'      => '',
				'title'         => '',
				'heading_level' => 2,
			),
			$atts,
			'newsrec_most_viewed'
		);
		return self::most_viewed( $atts );
	}

	/**
	 * Whether the page shows one public post of a recommended type.
	 *
	 * @return bool
	 */
	private static function on_public_post() {
		if ( ! is_singular( Newsrec_Sync::post_types() ) ) {
			return false;
		}
		$post = get_post();
		return $post instanceof WP_Post && Newsrec_Policy::is_public(
			array(
				'post_type'     => $post->post_type,
				'post_status'   => $post->post_status,
				'post_password' => $post->post_password,
			),
			Newsrec_Sync::post_types()
		);
	}

	/**
	 * The_content: both blocks after a single post, unless the post places them itself.
	 *
	 * @param string $content The post's content.
	 * @return string
	 */
	public static function after_content( $content ) {
		$settings = Newsrec_Settings::get();
		if ( empty( $settings['auto_place'] ) || ! in_the_loop() || ! is_main_query() || ! self::on_public_post() ) {
			return $content;
		}
		$post = get_post();
		if ( ! has_block( 'newsrec/related', $post ) && ! has_shortcode( $post->post_content, 'newsrec_related' ) ) {
			$content .= self::related( array( 'post_id' => $post->ID ) );
		}
		if ( ! has_block( 'newsrec/most-viewed', $post ) && ! has_shortcode( $post->post_content, 'newsrec_most_viewed' ) ) {
			$content .= self::most_viewed( array() );
		}
		return $content;
	}

	/**
	 * Whether this reader's view counts: not for people who edit the site (their own reading
	 * is not readers' interest; filter `newsrec_count_view`).
	 *
	 * @return bool
	 */
	public static function counts_view() {
		$counts = ! current_user_can( 'edit_posts' );
		return (bool) apply_filters( 'newsrec_count_view', $counts, get_current_user_id() );
	}

	/**
	 * Scripts and styles: the widget (refreshes the blocks in the browser), its stylesheet, and
	 * the view beacon on a public post.
	 */
	public static function enqueue() {
		$settings = Newsrec_Settings::get();
		$public   = Newsrec_Settings::public_url( $settings );
		if ( '' === $public ) {
			return;
		}
		if ( ! empty( $settings['widget_css'] ) ) {
			wp_enqueue_style( 'newsrec-widget', $public . '/widget.css', array(), null ); // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion -- the service versions it (ETag).
		}
		if ( ! empty( $settings['widget'] ) ) {
			wp_enqueue_script( 'newsrec-widget', $public . '/widget.js', array(), null, true ); // phpcs:ignore WordPress.WP.EnqueuedResourceParameters.MissingVersion -- the service versions it (ETag).
		}
		if ( ! empty( $settings['count_views'] ) && self::on_public_post() && self::counts_view() ) {
			wp_enqueue_script( 'newsrec-view', plugins_url( 'assets/view.js', NEWSREC_FILE ), array(), NEWSREC_VERSION, true );
			wp_add_inline_script(
				'newsrec-view',
				'window.newsrecView = ' . wp_json_encode(
					array(
						'events' => $public,
						'id'     => (string) get_the_ID(),
					)
				) . ';',
				'before'
			);
		}
	}

	/**
	 * Script_loader_tag: the widget loads `async` and sends no view of its own (the plugin's
	 * beacon does, and knows who is staff).
	 *
	 * @param string $tag    The script tag.
	 * @param string $handle Script handle.
	 * @return string
	 */
	public static function script_tag( $tag, $handle ) {
		if ( 'newsrec-widget' === $handle && false === strpos( $tag, ' async' ) ) {
			$tag = str_replace( ' src=', ' async data-newsrec-beacon="off" src=', $tag );
		}
		return $tag;
	}
}
